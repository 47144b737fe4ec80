"""Track slots: the model's named inputs, their aliases, and matching file or track names to them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

DEFAULT_SLOTS = ("kick", "snare", "hihat", "tom_1", "tom_2", "tom_3", "overhead_L", "overhead_R")

#: A stereo overhead pair: its left channel feeds overhead_L, its right channel overhead_R.
OVERHEAD_PAIR = "overheads"
OVERHEAD_PAIR_SLOTS = ("overhead_L", "overhead_R")

#: A static drum balance on levelled tracks: (gain in dB, pan -1 left .. +1 right, constant power) per
#: slot. The rule-based baseline mixes with it; a model with output_init="balance" starts from it.
#: Pans from the drummer's perspective (hi-hat left, floor tom right). Toms sit well down: a tom mic
#: is mostly bleed between fills.
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

# Aliases as token sequences of a normalised name (see `normalise_name`); a slot's own name is
# always an alias of itself.
ALIASES: dict[str, tuple[str, ...]] = {
    "kick": ("kick", "kik", "bd", "bass_drum", "bassdrum", "kick_drum", "kickdrum"),
    "snare": ("snare", "sd", "snr", "snare_drum", "snaredrum"),
    "hihat": ("hihat", "hi_hat", "hihats", "hi_hats", "hh", "hat", "hats"),
    "tom_1": ("tom_1", "t_1", "tom_hi", "hi_tom", "high_tom", "rack_tom", "racktom", "rack_tom_1"),
    "tom_2": ("tom_2", "t_2", "tom_mid", "mid_tom", "rack_tom_2", "racktom_2"),
    "tom_3": ("tom_3", "t_3", "tom_lo", "low_tom", "floor_tom", "floortom", "ft"),
    "overhead_L": ("overhead_l", "overhead_left", "oh_l", "ohl", "oh_left", "left_overhead", "left_oh"),
    "overhead_R": ("overhead_r", "overhead_right", "oh_r", "ohr", "oh_right", "right_overhead", "right_oh"),
    OVERHEAD_PAIR: ("overheads", "overhead", "oh", "ohs", "over_heads", "overhead_pair"),
}


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
    earlier slot.
    """
    tokens = f"_{normalise_name(name)}_"
    best, best_length = None, 0
    for slot in accepted_names(slot_names):
        for alias in (normalise_name(slot), *ALIASES.get(slot, ())):
            if f"_{alias}_" in tokens and len(alias) > best_length:
                best, best_length = slot, len(alias)
    return best


def resolve_slot_name(name: str, slot_names: Sequence[str] = DEFAULT_SLOTS) -> str:
    """`name` if it is a slot (or the overhead pair), else the slot its aliases point to.

    Raises ValueError naming the accepted slot names when nothing matches.
    """
    if name in accepted_names(slot_names):
        return name
    slot = match_slot(name, slot_names)
    if slot is None:
        raise ValueError(f"unknown slot {name!r}; expected one of {accepted_names(slot_names)}")
    return slot


def assign_slots(names: Iterable[str], slot_names: Sequence[str] = DEFAULT_SLOTS, *, strict: bool = True
                 ) -> tuple[dict[str, str], list[str], list[str]]:
    """Match names to slots: ({slot: name}, [names matching no slot], [notes on clashes]).

    A clash is a second name for a taken slot, or the overhead pair and one of its slots. With
    `strict` it raises ValueError naming both; otherwise the first name keeps the slot and the
    clash is noted (the demo lets the user reassign by hand).
    """
    assigned: dict[str, str] = {}
    unmatched: list[str] = []
    clashes: list[str] = []
    for name in names:
        slot = match_slot(name, slot_names)
        if slot is None:
            unmatched.append(name)
            continue
        taken_by = assigned.get(slot)
        if taken_by is not None and strict:
            raise ValueError(f"{taken_by} and {name} both match slot {slot!r}; keep one, "
                             "or assign them explicitly (mixwave mix --map SLOT=FILE)")
        if taken_by is None and slot == OVERHEAD_PAIR:
            taken_by = next((assigned[single] for single in OVERHEAD_PAIR_SLOTS if single in assigned), None)
        elif taken_by is None and slot in OVERHEAD_PAIR_SLOTS:
            taken_by = assigned.get(OVERHEAD_PAIR)
        if taken_by is not None:
            if strict:
                raise ValueError(f"{taken_by} and {name} both give the overheads; keep one")
            clashes.append(f"{name} also matches {slot}, which {taken_by} feeds")
            continue
        assigned[slot] = name
    return assigned, unmatched, clashes


def check_overhead_pair(assigned: dict[str, str]) -> None:
    """ValueError if the overhead pair and one of its single overhead slots are both given."""
    if OVERHEAD_PAIR in assigned:
        for slot in OVERHEAD_PAIR_SLOTS:
            if slot in assigned:
                raise ValueError(
                    f"{assigned[OVERHEAD_PAIR]} (the overhead pair) and {assigned[slot]} ({slot}) "
                    "both give the overheads; keep one"
                )
