"""Track slots: the model's named inputs, their aliases, and matching file or track names to them.

    match_slot("BD_in.wav")                            # "kick"
    matched, unmatched, notes = assign_slots(["01_Kick.wav", "OH_L.wav", "click.wav"])
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from mixwave_hf.errors import InputError

DEFAULT_SLOTS = ("kick", "snare", "hihat", "tom_1", "tom_2", "tom_3", "overhead_L", "overhead_R")

#: A stereo overhead pair: its left channel feeds overhead_L, its right channel overhead_R.
OVERHEAD_PAIR = "overheads"
OVERHEAD_PAIR_SLOTS = ("overhead_L", "overhead_R")


def fed_slots(slot: str) -> tuple[str, ...]:
    """The model slots a resolved slot name feeds: both overhead slots for the pair, else the slot itself."""
    return OVERHEAD_PAIR_SLOTS if slot == OVERHEAD_PAIR else (slot,)

#: Whose view a stereo drum mix pans from: a listener's in front of the kit (hi-hat right, floor tom
#: left) or the drummer's (hi-hat left). The overhead slots' L/R always name the mix's sides.
PERSPECTIVES = ("audience", "drummer")

#: A static drum balance on levelled tracks: (gain in dB, pan -1 left .. +1 right, constant power) per
#: slot. The rule-based baseline mixes with it; a model with output_init="balance" starts from it.
#: Pans from the drummer's perspective (hi-hat left, floor tom right; `static_balance("audience")`
#: mirrors them). Toms sit well down: a tom mic is mostly bleed between fills.
STATIC_BALANCE: dict[str, tuple[float, float]] = {
    "kick": (0.0, 0.0),
    "snare": (0.0, 0.0),
    "hihat": (-6.0, -0.3),
    "tom_1": (-10.0, -0.4),
    "tom_2": (-10.0, 0.0),
    "tom_3": (-10.0, 0.5),
    "overhead_L": (-6.0, -1.0),
    "overhead_R": (-6.0, 1.0),
}

def check_perspective(perspective: str) -> str:
    """`perspective` if it is one of PERSPECTIVES; ValueError naming it and the accepted ones."""
    if perspective not in PERSPECTIVES:
        raise InputError(f"perspective {perspective!r}; expected one of {list(PERSPECTIVES)}")
    return perspective


def mirrored_pan(slot: str, pan: float) -> float:
    """`pan` of `slot` seen from the other perspective: a close mic's side flips; an overhead slot's
    does not (overhead_L is, by its name, the overhead on the mix's left)."""
    return pan if slot.startswith("overhead") else (-pan or 0.0)


def static_balance(perspective: str = "drummer") -> dict[str, tuple[float, float]]:
    """STATIC_BALANCE with its pans from `perspective` (one of PERSPECTIVES)."""
    if check_perspective(perspective) == "drummer":
        return dict(STATIC_BALANCE)
    return {slot: (gain, mirrored_pan(slot, pan)) for slot, (gain, pan) in STATIC_BALANCE.items()}


# Aliases as token sequences of a normalised name (see `normalise_name`); a slot's own name is
# always an alias of itself.
_OVERHEAD_WORDS = ("overhead", "overheads", "oh", "ohs", "over_heads")
ALIASES: dict[str, tuple[str, ...]] = {
    "kick": ("kick", "kik", "bd", "bass_drum", "bassdrum", "kick_drum", "kickdrum", "subkick"),
    "snare": ("snare", "sd", "snr", "snare_drum", "snaredrum"),
    "hihat": ("hihat", "hi_hat", "hihats", "hi_hats", "hh", "hat", "hats"),
    "tom_1": ("tom_1", "t_1", "tom_hi", "hi_tom", "high_tom", "rack_tom", "racktom", "rack_tom_1"),
    "tom_2": ("tom_2", "t_2", "tom_mid", "mid_tom", "rack_tom_2", "racktom_2"),
    "tom_3": ("tom_3", "t_3", "tom_lo", "low_tom", "floor_tom", "floortom", "ft"),
    "overhead_L": ("ohl", *(f"{word}_{side}" for word in _OVERHEAD_WORDS for side in ("l", "left", "1")),
                   *(f"left_{word}" for word in _OVERHEAD_WORDS)),
    "overhead_R": ("ohr", *(f"{word}_{side}" for word in _OVERHEAD_WORDS for side in ("r", "right", "2")),
                   *(f"right_{word}" for word in _OVERHEAD_WORDS)),
    OVERHEAD_PAIR: (*_OVERHEAD_WORDS, "overhead_pair"),
}
#: Overheads numbered instead of sided: 1 is taken as left, 2 as right (said in a note).
NUMBERED_OVERHEAD_ALIASES = frozenset(f"{word}_{number}" for word in _OVERHEAD_WORDS for number in ("1", "2"))

# Which mic feeds a slot when several match it, by the words in their names (engineers' convention):
# the inside kick mic (attack) over the outside/port one (resonant head, low end) and the sub kick;
# the top (close) snare or tom mic over the bottom one. A primary word outranks any secondary word
# in the same name ("Kick In D112" is an inside mic); an unmarked name ranks as primary.
PRIMARY_MARKERS = ("top", "in", "inside", "beta_91")
SECONDARY_MARKERS: dict[str, int] = {
    "bottom": 1, "btm": 1, "bot": 1, "under": 1, "out": 1, "outside": 1, "d_112": 1,
    "sub": 2, "subkick": 2,
}
#: Words of room and ambience mics: never model inputs, left out with a note.
ROOM_MARKERS = frozenset({"room", "rooms", "amb", "ambs", "ambi", "ambience", "ambiance", "ambient", "trash"})


def normalise_name(name: str) -> str:
    """A file or track name as lowercase tokens joined by "_": "01 Kick-In.wav" -> "01_kick_in".

    The extension is dropped; camelCase and letter/digit boundaries split ("overheadL" ->
    "overhead_l", "Tom1" -> "tom_1").
    """
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", name.rsplit("/", 1)[-1])
    stem = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", stem)
    stem = re.sub(r"(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])", "_", stem)
    return "_".join(re.findall(r"[a-z0-9]+", stem.lower()))


def accepted_names(slot_names: Sequence[str]) -> list[str]:
    """The names a track may be given for these slots: the slots, plus the overhead pair if present."""
    names = list(slot_names)
    if all(slot in slot_names for slot in OVERHEAD_PAIR_SLOTS):
        names.append(OVERHEAD_PAIR)
    return names


def match_slot(name: str, slot_names: Sequence[str] = DEFAULT_SLOTS) -> str | None:
    """The slot (or OVERHEAD_PAIR) a file or track name belongs to, or None if it matches none.

    A name matches a slot when one of the slot's aliases appears in it as whole tokens
    ("02_Snare_Top.wav" -> "snare"); when several slots match, the longest alias wins, then the
    earlier slot. A room or ambience mic ("Room L", "Kick Amb", "Trash") matches no slot.
    """
    match = _match(name, slot_names)
    return match[0] if match else None


def _match(name: str, slot_names: Sequence[str]) -> tuple[str, str] | None:
    """(slot, the alias that matched) for `match_slot`."""
    tokens = f"_{normalise_name(name)}_"
    room = ROOM_MARKERS & set(tokens.split("_"))
    best, best_alias = None, ""
    for slot in accepted_names(slot_names):
        for alias in (normalise_name(slot), *ALIASES.get(slot, ())):
            if room and not room & set(alias.split("_")):
                continue  # a room mic is only ever a slot named after rooms
            if f"_{alias}_" in tokens and len(alias) > len(best_alias):
                best, best_alias = slot, alias
    return (best, best_alias) if best else None


def mic_rank(name: str) -> tuple[int, str | None]:
    """How secondary a mic is by its name, and the word that says so: (0, None) for a primary or
    unmarked name ("Snare Top", "Kick In", "Tom 1"), (1, "bottom") for "Snare Bottom", (2, "sub") for
    "Kick Sub". Lower ranks feed a slot first."""
    tokens = f"_{normalise_name(name)}_"
    if any(f"_{marker}_" in tokens for marker in PRIMARY_MARKERS):
        return 0, None
    found = [(rank, marker) for marker, rank in SECONDARY_MARKERS.items() if f"_{marker}_" in tokens]
    return max(found) if found else (0, None)


def resolve_slot_name(name: str, slot_names: Sequence[str] = DEFAULT_SLOTS) -> str:
    """`name` if it is a slot (or the overhead pair), else the slot its aliases point to.

    Raises ValueError naming the accepted slot names when nothing matches.
    """
    if name in accepted_names(slot_names):
        return name
    slot = match_slot(name, slot_names)
    if slot is None:
        raise InputError(f"unknown slot {name!r}; expected one of {accepted_names(slot_names)}")
    return slot


def assign_slots(names: Iterable[str], slot_names: Sequence[str] = DEFAULT_SLOTS, *, strict: bool = True
                 ) -> tuple[dict[str, str], list[str], list[str]]:
    """Match names to slots: ({slot: name}, [names matching no slot], [notes on what was left out or assumed]).

    Where several names match a slot, the primary mic feeds it (`mic_rank`: "Kick In" over "Kick Out"
    over "Kick Sub", "Snare Top" over "Snare Bottom") and the others are left out with a note; room
    mics are left out with a note; overheads numbered 1 and 2 are taken as left and right with a note.
    A clash is two equally primary names for one slot ("kick.wav", "bd.wav"), or the overhead pair and
    one of its slots. With `strict` a clash raises ValueError naming both; otherwise the first name
    keeps the slot and the clash is noted (the demo lets the user reassign by hand).
    """
    names = list(names)
    candidates: dict[str, list[str]] = {}
    unmatched: list[str] = []
    rooms: list[str] = []
    numbered: list[str] = []
    for name in names:
        match = _match(name, slot_names)
        if match is None:
            (rooms if ROOM_MARKERS & set(normalise_name(name).split("_")) else unmatched).append(name)
            continue
        candidates.setdefault(match[0], []).append(name)
    notes: list[str] = []
    assigned = {slot: _pick_mic(slot, found, strict, notes) for slot, found in candidates.items()}
    _keep_one_overhead_source(assigned, names, strict, notes)
    for slot in OVERHEAD_PAIR_SLOTS:
        if slot in assigned and _match(assigned[slot], slot_names)[1] in NUMBERED_OVERHEAD_ALIASES:
            numbered.append(assigned[slot])
    if numbered:
        notes.append(f"{' and '.join(numbered)}: overheads numbered, not sided; taken as 1 = left, 2 = right")
    if rooms:
        notes.append(f"{', '.join(rooms)} left out: room mics are not model inputs")
    return assigned, unmatched, notes


def _pick_mic(slot: str, names: list[str], strict: bool, notes: list[str]) -> str:
    """The name that feeds `slot`: the lowest `mic_rank`, the first of equals; notes the others."""
    ranks = {name: mic_rank(name) for name in names}
    best = min(rank for rank, _ in ranks.values())
    chosen, *equals = [name for name in names if ranks[name][0] == best]
    if equals and strict:
        raise InputError(f"{chosen} and {equals[0]} both match slot {slot!r}; keep one, "
                         "or assign them explicitly (mixwave mix --map SLOT=FILE)")
    for name in names:
        rank, marker = ranks[name]
        if name in equals:
            notes.append(f"{name} also matches {slot}, which {chosen} feeds")
        elif name != chosen:
            notes.append(f"{name} left out: {slot} takes {chosen}; '{marker.replace('_', '')}' marks a "
                         "secondary mic")
    return chosen


def _keep_one_overhead_source(assigned: dict[str, str], names: list[str], strict: bool, notes: list[str]) -> None:
    """Drop the overhead pair or the single overheads, whichever comes later in `names`."""
    singles = [slot for slot in OVERHEAD_PAIR_SLOTS if slot in assigned]
    if OVERHEAD_PAIR not in assigned or not singles:
        return
    pair, first_single = assigned[OVERHEAD_PAIR], min((assigned[slot] for slot in singles), key=names.index)
    if strict:
        first, second = sorted((pair, first_single), key=names.index)
        raise InputError(f"{first} and {second} both give the overheads; keep one")
    if names.index(pair) < names.index(first_single):
        for slot in singles:
            notes.append(f"{assigned.pop(slot)} also matches {slot}, which {pair} feeds")
    else:
        notes.append(f"{assigned.pop(OVERHEAD_PAIR)} also matches {OVERHEAD_PAIR}, which {first_single} feeds")


def check_overhead_pair(assigned: dict[str, str]) -> None:
    """ValueError if the overhead pair and one of its single overhead slots are both given."""
    if OVERHEAD_PAIR in assigned:
        for slot in OVERHEAD_PAIR_SLOTS:
            if slot in assigned:
                raise InputError(
                    f"{assigned[OVERHEAD_PAIR]} (the overhead pair) and {assigned[slot]} ({slot}) "
                    "both give the overheads; keep one"
                )
