"""Seeded drum performances: a style, a tempo and a feel, played as a list of hit events.

`draw_groove` picks every parameter from a random generator and returns them with the events, so a
song's performance is recorded in full; a `Playing` (`draw_playing`) says how the song is played
beyond that: sticks, brushes or rods, with or without crashes, time on the hi-hat, the ride or both
(docs/synthetic-corpus.md).

    params, events = draw_groove(np.random.default_rng(7), seconds=30.0, style="rock")
    params, events = draw_groove(rng, 30.0, playing=Playing("brushes", crashes=False))
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from mixwave_hf.data.synth.playing import (
    IMPLEMENT_MAX_BPM,
    IMPLEMENT_STYLES,
    IMPLEMENT_TOUCH,
    SWEEP_BEATS,
    SWEEPS_ONLY_RATE,
    Playing,
    touched_velocity,
)
from mixwave_hf.data.synth.playing import draw_playing as draw_playing  # grooves.draw_playing, beside Playing

#: Styles and their tempo ranges (bpm); every tempo lies within 60-180 (only a ballad is slower than 70).
#: playing.IMPLEMENT_STYLES says which are drawn for each implement (a drawn stick song is never a ballad).
STYLE_TEMPI: dict[str, tuple[float, float]] = {
    "rock": (90.0, 160.0),
    "funk": (85.0, 120.0),
    "shuffle": (80.0, 140.0),
    "half_time": (70.0, 110.0),
    "four_on_the_floor": (110.0, 135.0),
    "jazz": (100.0, 180.0),
    "ballad": (60.0, 85.0),
}
STYLES = tuple(STYLE_TEMPI)
#: Styles on an eighth-note-triplet grid (12 steps a bar); the others use sixteenths (16 steps).
TRIPLET_STYLES = ("shuffle", "jazz")
#: Nominal MIDI velocity of each accent level before the song's dynamics and jitter.
ACCENT_VELOCITY = {"strong": 112, "medium": 92, "weak": 72, "soft": 56, "ghost": 36}

# Kick patterns (grid steps within a bar), one is picked per phrase; the style's backbeat steps are avoided.
KICK_PATTERNS: dict[str, tuple[tuple[int, ...], ...]] = {
    "rock": ((0, 8), (0, 8, 10), (0, 6, 8), (0, 7, 8), (0, 8, 11), (0, 3, 8, 10), (0, 8, 10, 14)),
    "funk": ((0, 3, 6, 10), (0, 7, 10), (0, 2, 7, 10, 13), (0, 6, 9, 14), (0, 3, 10, 11)),
    "shuffle": ((0, 6), (0, 5, 6), (0, 6, 11), (0, 2, 6, 8)),
    "half_time": ((0,), (0, 3), (0, 10), (0, 3, 10, 11), (0, 6, 14)),
    "four_on_the_floor": ((0, 4, 8, 12),),
    "jazz": ((),),
    "ballad": ((0, 8), (0, 10), (0,), (0, 6, 8), (0, 8, 11)),
}
BACKBEATS = {"rock": (4, 12), "funk": (4, 12), "shuffle": (3, 9), "half_time": (8,), "four_on_the_floor": (4, 12),
             "jazz": (), "ballad": (4, 12)}
FILL_DRUMS = ("snare", "tom_1", "tom_2", "tom_3")
TOMS = FILL_DRUMS[1:]
SONG_LEAD_IN_SECONDS = (0.05, 0.4)  # the first downbeat falls this long after the start


@dataclass(frozen=True)
class HitEvent:
    """One stroke: `time` in seconds from the song start, a piece of kits.PIECES, its articulation,
    and MIDI velocity 1-127."""

    time: float
    piece: str
    articulation: str
    velocity: int


@dataclass(frozen=True)
class GrooveParams:
    """Everything a performance is drawn from (times in ms, velocities in MIDI units)."""

    style: str
    bpm: float
    phrase_bars: int          # a crash opens, a fill may close each phrase
    first_bar_in_phrase: int  # songs are excerpts: they may start mid-phrase
    lead_in_seconds: float
    swing: float              # delay of off-beat grid steps, as a fraction of a step (straight grids)
    timing_jitter_ms: float   # standard deviation of each stroke's timing
    drift_ms: float           # per-bar random walk of the whole band's timing
    push_ms: dict             # piece -> constant offset (negative: ahead of the beat)
    velocity_jitter: float
    dynamics: float           # added to every nominal velocity (a soft or a hard-hitting drummer)
    ghost_rate: float         # chance of a ghost note on each free weak step
    open_hat_rate: float      # chance per bar of an open hi-hat
    ride_phrase_rate: float   # chance a phrase keeps time on the ride instead of the hi-hat
    side_stick_phrase_rate: float
    sixteenth_hats: bool      # hi-hat in sixteenths rather than eighths (rock, half-time, disco)
    crash_rate: float         # chance a phrase opens with a crash
    fill_rate: float          # chance a phrase ends with a fill
    touch: float = 1.0        # velocity scale of the hands' strokes: 1 with sticks, less with rods or brushes
    sweep_beats: int = 0      # beats one brush sweep lasts; 0: not played with brushes

    def as_metadata(self) -> dict:
        """The parameters as JSON-serialisable data (touch and sweep_beats only when not played with sticks)."""
        data = asdict(self)
        if self.touch == 1.0 and not self.sweep_beats:  # stick songs keep the metadata they always had
            del data["touch"], data["sweep_beats"]
        return data


def draw_groove_params(rng: np.random.Generator, style: str | None = None,
                       playing: Playing | None = None) -> GrooveParams:
    """Draw a performance's parameters (the style too, unless given), played as `playing` (sticks by default)."""
    playing = playing or Playing()
    styles = IMPLEMENT_STYLES[playing.implement]
    if style is None:
        style = styles[int(rng.integers(len(styles)))]
    if style not in STYLE_TEMPI:
        raise ValueError(f"unknown style {style!r}; expected one of {list(STYLES)}")
    if playing.implement != "sticks" and style not in styles:
        raise ValueError(f"style {style!r} played with {playing.implement}; expected one of {list(styles)}")
    low, high = STYLE_TEMPI[style]
    high = min(high, IMPLEMENT_MAX_BPM.get(playing.implement, high))
    ghost_range = {"funk": (0.25, 0.6), "shuffle": (0.15, 0.45), "half_time": (0.1, 0.45), "jazz": (0.3, 0.6),
                   "four_on_the_floor": (0.0, 0.15)}.get(style, (0.0, 0.3))
    swing_max = {"funk": 0.25, "four_on_the_floor": 0.12, "rock": 0.05, "half_time": 0.1}.get(style, 0.0)
    phrase_bars = int(rng.choice([4, 8]))
    params = GrooveParams(
        style=style,
        bpm=round(float(rng.uniform(low, high)), 1),
        phrase_bars=phrase_bars,
        first_bar_in_phrase=int(rng.integers(phrase_bars)),
        lead_in_seconds=round(float(rng.uniform(*SONG_LEAD_IN_SECONDS)), 4),
        swing=round(float(rng.uniform(0.0, swing_max)), 4),
        timing_jitter_ms=round(float(rng.uniform(2.0, 8.0)), 2),
        drift_ms=round(float(rng.uniform(0.0, 3.0)), 2),
        push_ms={"kick": round(float(rng.uniform(-4, 4)), 2), "snare": round(float(rng.uniform(-3, 10)), 2),
                 "hihat": round(float(rng.uniform(-5, 3)), 2), "ride": round(float(rng.uniform(-5, 3)), 2)},
        velocity_jitter=round(float(rng.uniform(3.0, 9.0)), 2),
        dynamics=round(float(rng.uniform(-14.0, 6.0)), 2),
        ghost_rate=round(float(rng.uniform(*ghost_range)), 3),
        open_hat_rate=round(float(rng.uniform(0.0, 0.35)), 3),
        ride_phrase_rate=1.0 if style == "jazz" else round(float(rng.uniform(0.0, 0.5)), 3),
        side_stick_phrase_rate=(round(float(rng.uniform(0.0, 0.2)), 3) if style in ("rock", "half_time", "ballad")
                                else 0.0),
        sixteenth_hats=bool(rng.random() < (1.0 if style == "funk" else 0.35)),
        crash_rate=round(float(rng.uniform(0.5, 1.0) if style == "jazz" else rng.uniform(0.75, 1.0)), 3),
        fill_rate=round(float(rng.uniform(0.5, 1.0)), 3),
    )
    return _played_with(params, playing, rng)


def _played_with(params: GrooveParams, playing: Playing, rng: np.random.Generator) -> GrooveParams:
    """`params` as `playing` plays them; sticks with mixed timekeeping change (and draw) nothing."""
    changes: dict = {}
    if playing.timekeeping != "mixed":
        changes["ride_phrase_rate"] = 1.0 if playing.timekeeping == "ride_only" else 0.0
    elif playing.implement == "brushes" and params.style == "jazz":
        # A brushed jazz phrase may leave the ride (always a stick jazz drummer's) for the hi-hat or the sweeps.
        changes["ride_phrase_rate"] = round(float(rng.uniform(0.3, 0.9)), 3)
    if playing.implement != "sticks":
        changes["touch"] = round(float(rng.uniform(*IMPLEMENT_TOUCH[playing.implement])), 3)
    if playing.implement == "brushes":
        choices = SWEEP_BEATS[params.style]
        changes["sweep_beats"] = int(choices[int(rng.integers(len(choices)))])
        changes["side_stick_phrase_rate"] = 0.0
    return replace(params, **changes)


# A bar is drawn as strokes on the grid: (step, piece, articulation, accent). Steps past the bar's
# end are allowed (an open hi-hat closed on the next downbeat).
Stroke = tuple[int, str, str, str]


def _timekeeping(params: GrooveParams, rng: np.random.Generator, timekeeper: str, steps: int) -> list[Stroke]:
    """Hi-hat or ride strokes of one bar (with the hi-hat foot when the ride or the brush sweeps keep time)."""
    style = params.style
    articulation = "closed" if timekeeper == "hihat" else "hit"
    foot = [(step, "hihat", "pedal", "medium") for step in (steps // 4, 3 * steps // 4)]
    if timekeeper == "sweeps":
        return foot
    strokes: list[Stroke] = []
    if style == "jazz":
        for step, accent in ((0, "medium"), (3, "strong"), (5, "weak"), (6, "medium"), (9, "strong"), (11, "weak")):
            bell = rng.random() < 0.03
            strokes.append((step, "ride", "bell" if bell else "hit", accent) if timekeeper == "ride"
                           else (step, "hihat", "closed", accent))
        return strokes + (foot if timekeeper == "ride" else [])
    if style == "shuffle":
        positions = [(beat * 3, "medium") for beat in range(4)] + [(beat * 3 + 2, "weak") for beat in range(4)]
    elif style == "funk" or params.sixteenth_hats:
        positions = [(step, "medium" if step % 4 == 0 else "soft" if step % 2 else "weak") for step in range(steps)]
    else:
        positions = [(step, "medium" if step % 4 == 0 else "weak") for step in range(0, steps, 2)]
    if timekeeper == "disco_hihat":
        # Open on the off-beats, closed firmly by the foot on the beats.
        return [(step, "hihat", "open", "medium") for step in (2, 6, 10, 14)] + [
            (step, "hihat", "pedal", "medium") for step in (0, 4, 8, 12)]
    for step, accent in positions:
        bell = timekeeper == "ride" and step % 4 == 0 and rng.random() < 0.1
        strokes.append((step, timekeeper, "bell" if bell else articulation, accent))
    if timekeeper == "ride":
        strokes += foot
    elif rng.random() < params.open_hat_rate:
        off_beats = [step for step, _ in positions if step % (steps // 4)]
        open_step = off_beats[int(rng.integers(len(off_beats)))]
        strokes = [(s, p, "open" if s == open_step and p == "hihat" else a, c) for s, p, a, c in strokes]
    return strokes


def _kick_and_snare(params: GrooveParams, rng: np.random.Generator, kick_pattern: tuple[int, ...],
                    snare_articulation: str, steps: int) -> list[Stroke]:
    """Kick pattern, backbeat and ghost notes of one bar."""
    style = params.style
    strokes: list[Stroke] = [(step, "kick", "hit", "strong" if step == 0 else "medium") for step in kick_pattern]
    if style == "jazz":
        feather = [(step, "kick", "hit", "ghost") for step in (0, 3, 6, 9) if rng.random() < 0.6]
        bombs = [(int(step), "kick", "hit", "strong") for step in range(steps) if rng.random() < 0.03]
        comping = [(step, "snare", "hit", str(rng.choice(["ghost", "weak", "medium"], p=[0.5, 0.35, 0.15])))
                   for step in range(steps) if rng.random() < params.ghost_rate * 0.35]
        return feather + bombs + comping
    backbeat_accent = "medium" if snare_articulation == "side_stick" else "strong"
    strokes += [(step, "snare", snare_articulation, backbeat_accent) for step in BACKBEATS[style]]
    if snare_articulation == "hit":
        taken = set(kick_pattern) | set(BACKBEATS[style])
        beat = steps // 4
        for step in range(steps):
            # Ghost notes sit on the weak grid steps, not right next to a backbeat (its ring would mask them).
            if step in taken or step % beat == 0 or (step + 1) in BACKBEATS[style] or (step - 1) in BACKBEATS[style]:
                continue
            if rng.random() < params.ghost_rate * (1.0 if step % 2 else 0.4):
                strokes.append((step, "snare", "hit", "ghost"))
    return strokes


def _fill(params: GrooveParams, rng: np.random.Generator, steps: int) -> tuple[int, list[Stroke]]:
    """(first step of the fill, its strokes): snare and toms, high to low, at the end of a bar."""
    triplets = params.style in TRIPLET_STYLES
    beat = steps // 4
    beats = int(rng.choice([1, 2, 4], p=[0.35, 0.45, 0.2]))
    start = steps - beats * beat
    stride = 2 if (not triplets and beats == 4 and rng.random() < 0.3) else 1
    slots = list(range(start, steps, stride))
    # Drums in falling pitch; at least one tom, so tom mics get real hits.
    toms = [tom for tom in FILL_DRUMS[1:] if rng.random() < 0.75] or [FILL_DRUMS[1 + int(rng.integers(3))]]
    drums = (["snare"] if rng.random() < 0.6 else []) + toms
    drums = drums[: len(slots)]
    cuts = sorted(rng.choice(np.arange(1, len(slots)), size=len(drums) - 1, replace=False)) if len(drums) > 1 else []
    groups = np.split(np.array(slots), cuts)
    strokes: list[Stroke] = []
    for drum, group in zip(drums, groups, strict=True):
        for index, step in enumerate(group):
            if index and rng.random() < 0.12:
                continue  # a rest inside the fill
            strokes.append((int(step), drum, "hit", "strong" if index == 0 else "medium"))
    strokes += [(step, "kick", "hit", "medium") for step in range(start, steps, beat) if rng.random() < 0.3]
    return start, strokes


def _brush_sweeps(params: GrooveParams, steps: int) -> list[Stroke]:
    """A bar's brush sweeps, one every `sweep_beats` beats (each lasts until the next), and jazz's taps on 2 and 4.

    The snare's other strokes (backbeat, ghost notes, comping, fills) become brush taps in `_brushed`.
    """
    beat = steps // 4
    strokes = [(step, "snare", "brush_sweep", "medium") for step in range(0, steps, beat * params.sweep_beats)]
    if params.style == "jazz":
        strokes += [(beat, "snare", "hit", "medium"), (3 * beat, "snare", "hit", "medium")]
    return strokes


def _brushed(stroke: Stroke) -> Stroke:
    """A snare stroke played with a brush is a tap; other strokes keep their articulation."""
    step, piece, articulation, accent = stroke
    return (step, piece, "brush_tap", accent) if piece == "snare" and articulation == "hit" else stroke


def _bar_strokes(params: GrooveParams, rng: np.random.Generator, section: dict, bar_in_phrase: int,
                 steps: int) -> list[Stroke]:
    """All strokes of one bar, with the phrase's crash and fill."""
    strokes = _timekeeping(params, rng, section["timekeeper"], steps)
    kick_pattern = section["kick_pattern"]
    if rng.random() < 0.2:  # a variation bar
        kick_pattern = KICK_PATTERNS[params.style][int(rng.integers(len(KICK_PATTERNS[params.style])))]
    strokes += _kick_and_snare(params, rng, kick_pattern, section["snare_articulation"], steps)
    if params.sweep_beats:
        strokes += _brush_sweeps(params, steps)
    if bar_in_phrase == 0 and section["crash"]:
        # The crash replaces the timekeeping stroke on the downbeat; the kick doubles it.
        strokes = [s for s in strokes if not (s[0] == 0 and s[1] in ("ride", "hihat") and s[2] != "pedal")]
        strokes += [(0, section["crash"], "hit", "strong")]
    if bar_in_phrase == 0 and section["accent"]:
        strokes += [(0, "kick", "hit", "strong")]
    if bar_in_phrase == params.phrase_bars - 1 and section["fill"]:
        start, fill = _fill(params, rng, steps)
        keep_foot = params.style == "jazz" or params.sweep_beats
        strokes = [s for s in strokes if s[0] < start or (keep_foot and s[2] == "pedal")] + fill
    if params.sweep_beats:
        strokes = [_brushed(stroke) for stroke in strokes]
    return _close_open_hats(_one_stroke_per_piece_and_step(strokes), steps)


def _one_stroke_per_piece_and_step(strokes: list[Stroke]) -> list[Stroke]:
    """Where patterns overlap (a crash's kick on a feathered kick), keep the most accented stroke.

    A brush sweep is the other hand's: it stays beside a tap on the same step.
    """
    strength = {accent: rank for rank, accent in enumerate(ACCENT_VELOCITY)}
    kept: dict[tuple[int, str, bool], Stroke] = {}
    for stroke in sorted(strokes, key=lambda s: strength[s[3]]):
        kept.setdefault((stroke[0], stroke[1], stroke[2] == "brush_sweep"), stroke)
    return sorted(kept.values())


def _close_open_hats(strokes: list[Stroke], steps: int) -> list[Stroke]:
    """Add a pedal stroke two steps after every open hi-hat that nothing in its bar closes sooner.

    An open hi-hat in the last two steps is left to the next bar's first hi-hat stroke.
    """
    hat_steps = sorted(s[0] for s in strokes if s[1] == "hihat")
    added = []
    for step, piece, articulation, _ in strokes:
        if (piece == "hihat" and articulation == "open" and step + 2 < steps
                and not any(step < other <= step + 2 for other in hat_steps)):
            added.append((step + 2, "hihat", "pedal", "medium"))
    return strokes + added


def _new_section(params: GrooveParams, rng: np.random.Generator, crashes: bool = True) -> dict:
    """Choices that hold for a whole phrase; without `crashes` the kick alone marks the phrase's downbeat."""
    kick_patterns = KICK_PATTERNS[params.style]
    timekeeper = "ride" if rng.random() < params.ride_phrase_rate else "hihat"
    if timekeeper == "hihat" and params.style == "four_on_the_floor" and rng.random() < 0.5:
        timekeeper = "disco_hihat"
    if timekeeper == "hihat" and params.sweep_beats and rng.random() < SWEEPS_ONLY_RATE:
        timekeeper = "sweeps"
    section = {
        "timekeeper": timekeeper,
        "kick_pattern": kick_patterns[int(rng.integers(len(kick_patterns)))],
        "snare_articulation": "side_stick" if rng.random() < params.side_stick_phrase_rate else "hit",
        "crash": ("crash_1", "crash_2")[int(rng.integers(2))] if rng.random() < params.crash_rate else None,
        "fill": bool(rng.random() < params.fill_rate),
    }
    section["accent"] = section["crash"] is not None
    if not crashes:
        section["crash"] = None
    return section


def _step_seconds(params: GrooveParams, step: int, steps: int) -> float:
    """Time of a grid step from its bar's start, swing included."""
    beat_seconds = 60.0 / params.bpm
    step_seconds = 4 * beat_seconds / steps
    swing = params.swing * step_seconds if (steps == 16 and step % 2 == 1) else 0.0
    return step * step_seconds + swing


def play_groove(params: GrooveParams, seconds: float, rng: np.random.Generator,
                playing: Playing | None = None) -> list[HitEvent]:
    """The hit events of `seconds` of the performance `params`, sorted by time (all in [0, seconds)).

    `playing` (sticks, crashes and mixed timekeeping by default) must be the one `params` were drawn for.
    """
    crashes = playing is None or playing.crashes
    steps = 12 if params.style in TRIPLET_STYLES else 16
    bar_seconds = 4 * 60.0 / params.bpm
    events: list[HitEvent] = []
    drift = 0.0
    section = _new_section(params, rng, crashes)
    bar = 0
    while params.lead_in_seconds + bar * bar_seconds < seconds:
        bar_in_phrase = (params.first_bar_in_phrase + bar) % params.phrase_bars
        if bar_in_phrase == 0 and bar > 0:
            section = _new_section(params, rng, crashes)
        drift = 0.8 * drift + float(rng.normal(0.0, params.drift_ms))
        bar_start = params.lead_in_seconds + bar * bar_seconds + drift / 1000
        for step, piece, articulation, accent in _bar_strokes(params, rng, section, bar_in_phrase, steps):
            offset_ms = params.push_ms.get(piece, 0.0) + float(rng.normal(0.0, params.timing_jitter_ms))
            time = bar_start + _step_seconds(params, step, steps) + offset_ms / 1000
            nominal = ACCENT_VELOCITY[accent] + params.dynamics * (0.5 if accent == "ghost" else 1.0)
            velocity = nominal + float(rng.normal(0.0, params.velocity_jitter))
            low, high = (30, 52) if accent == "ghost" else (30, 127)
            velocity = touched_velocity(int(np.clip(round(velocity), low, high)), params.touch, piece, articulation)
            if 0.0 <= time < seconds:
                events.append(HitEvent(round(time, 6), piece, articulation, velocity))
        bar += 1
    events.sort(key=lambda event: (event.time, event.piece))
    return events


def draw_groove(rng: np.random.Generator, seconds: float, style: str | None = None,
                playing: Playing | None = None) -> tuple[GrooveParams, list[HitEvent]]:
    """(parameters, hit events) of a random performance `seconds` long, played as `playing`.

    Without `playing` (or with `Playing()`: sticks, crashes, mixed timekeeping) the draws and events
    are those of a song drawn before other ways of playing existed.
    """
    params = draw_groove_params(rng, style, playing)
    return params, play_groove(params, seconds, rng, playing)


def events_as_metadata(events: list[HitEvent]) -> dict[str, list]:
    """Events as parallel JSON lists: {"time": [s], "piece": [...], "articulation": [...], "velocity": [...]}."""
    return {
        "time": [event.time for event in events],
        "piece": [event.piece for event in events],
        "articulation": [event.articulation for event in events],
        "velocity": [event.velocity for event in events],
    }


def restrict_toms(events: list[HitEvent], keep: int, rng: np.random.Generator, seconds: float,
                  touch: float = 1.0) -> list[HitEvent]:
    """`events` with exactly `keep` tom strokes left (0: toms never played), sorted by time.

    The kept strokes are a random choice among the performance's tom strokes; the others move to the
    snare (the drummer plays those fills on the snare; as brush taps in a song played with brushes),
    so the song keeps its rhythm. A performance with fewer tom strokes than `keep` gets the missing
    ones as single strokes on a random tom at a random time, at velocities scaled by `touch` (the
    groove's: rods and brushes play them softer).
    """
    brushed = any(event.articulation.startswith("brush_") for event in events)
    snare_articulation = "brush_tap" if brushed else "hit"
    tom_indices = [index for index, event in enumerate(events) if event.piece in TOMS]
    kept = set(rng.choice(tom_indices, size=min(keep, len(tom_indices)), replace=False).tolist()) if keep else set()
    restricted = [event if event.piece not in TOMS or index in kept
                  else HitEvent(event.time, "snare", snare_articulation, event.velocity)
                  for index, event in enumerate(events)]
    for _ in range(keep - len(kept)):
        time = round(seconds * float(rng.uniform(0.1, 0.8)), 6)  # clear of the song's ends
        tom, velocity = TOMS[int(rng.integers(len(TOMS)))], int(rng.integers(80, 111))
        restricted.append(HitEvent(time, tom, "hit", touched_velocity(velocity, touch, tom, "hit")))
    restricted.sort(key=lambda event: (event.time, event.piece))
    return restricted
