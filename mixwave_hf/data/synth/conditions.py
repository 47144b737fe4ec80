"""Recording and playing conditions: the ranges a song's recording and tom playing are drawn from.

`TRAINING_CONDITIONS` are the ranges of the train, validation and test splits; `STRESS_CONDITIONS`
lie outside them, for the stress split (why: docs/synthetic-corpus.md).

    params = draw_recording_params(rng, STRESS_CONDITIONS)  # recording.py
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

#: How a song's toms are played: as the groove plays them, 1-2 strokes in the whole song, or never
#: (the tom mics then hold only bleed and noise).
TOM_PLAYING = ("normal", "barely", "never")


@dataclass(frozen=True)
class Conditions:
    """Ranges (low, high) of a song's recording and tom playing; dB, ms, seconds.

    input_gain_range_db: the random input gain of every track is drawn in ±this.
    overhead_imbalance_db: an extra gain, drawn in this range, on one overhead (chosen at random),
        with its sign at random; (0, 0): none.
    rejection_cut_db: every close mic's rejection of other pieces is lowered by a per-song amount in
        this range (stronger bleed); (0, 0): none.
    room_tail_rt60_s, room_tail_db: the overheads' diffuse tail (decay time, energy against the direct sound).
    overhead_reflection_ms / close_reflection_ms, overhead_reflection_db / close_reflection_db: the
        early reflections' delays and gains.
    tom_playing: (TOM_PLAYING name, share of songs) pairs; barely played toms get `barely_tom_strokes`
        strokes in the whole song.
    """

    name: str = "training"
    input_gain_range_db: float = 12.0
    overhead_imbalance_db: tuple[float, float] = (0.0, 0.0)
    rejection_cut_db: tuple[float, float] = (0.0, 0.0)
    room_tail_rt60_s: tuple[float, float] = (0.25, 0.6)
    room_tail_db: tuple[float, float] = (-20.0, -12.0)
    overhead_reflection_ms: tuple[float, float] = (4.0, 30.0)
    close_reflection_ms: tuple[float, float] = (3.0, 25.0)
    overhead_reflection_db: tuple[float, float] = (-16.0, -9.0)
    close_reflection_db: tuple[float, float] = (-36.0, -26.0)
    tom_playing: tuple[tuple[str, float], ...] = (("normal", 1.0),)
    barely_tom_strokes: tuple[int, int] = (1, 2)

    def __post_init__(self) -> None:
        _check_tom_playing(self.name, self.tom_playing, self.barely_tom_strokes)

    @property
    def draws_extras(self) -> bool:
        """Whether songs need draws the training conditions never make (imbalance, bleed, toms)."""
        return (self.overhead_imbalance_db != (0.0, 0.0) or self.rejection_cut_db != (0.0, 0.0)
                or self.tom_playing != (("normal", 1.0),))

    def as_metadata(self) -> dict:
        """The conditions as JSON-serialisable data."""
        return asdict(self)


def _check_tom_playing(name: str, tom_playing: tuple, barely_tom_strokes: tuple[int, int]) -> None:
    """ValueError unless `tom_playing` are (TOM_PLAYING name, share) pairs adding up to 1 and
    `barely_tom_strokes` is (low, high) with 1 <= low <= high."""
    unknown = [playing for playing, _ in tom_playing if playing not in TOM_PLAYING]
    if unknown or not tom_playing or abs(sum(share for _, share in tom_playing) - 1.0) > 1e-9:
        raise ValueError(f"conditions {name!r}: tom_playing {tom_playing!r}; expected "
                         f"(name, share) pairs of {list(TOM_PLAYING)} with shares adding up to 1")
    if not 1 <= barely_tom_strokes[0] <= barely_tom_strokes[1]:
        raise ValueError(f"conditions {name!r}: barely_tom_strokes {barely_tom_strokes!r}; "
                         "expected (low, high) with 1 <= low <= high")


@dataclass(frozen=True)
class RoomConditions:
    """Ranges (low, high) of a song recorded in a room (room.py) and of its tom playing; m, s, dB.

    room_size_m: length, width and height ranges; rt60_s: the reverberation time drawn (the nearest
        one the drawn size allows); close_distance_m: a close mic from its drum's centre;
        kick_mic_distance_m: the kick mic inside the shell from the beater; kick_isolation_db: what
        the shell takes off the other pieces at the kick mic; input_gain_range_db, overhead_imbalance_db,
        tom_playing, barely_tom_strokes: as in `Conditions`.
    """

    name: str = "session"
    room_size_m: tuple[tuple[float, float], ...] = ((3.0, 10.0), (2.8, 8.0), (2.4, 4.5))
    rt60_s: tuple[float, float] = (0.15, 0.8)
    close_distance_m: tuple[float, float] = (0.08, 0.2)
    kick_mic_distance_m: tuple[float, float] = (0.1, 0.35)
    kick_isolation_db: tuple[float, float] = (6.0, 14.0)
    input_gain_range_db: float = 12.0
    overhead_imbalance_db: tuple[float, float] = (0.0, 0.0)
    tom_playing: tuple[tuple[str, float], ...] = (("normal", 0.5), ("barely", 0.25), ("never", 0.25))
    barely_tom_strokes: tuple[int, int] = (1, 2)

    def __post_init__(self) -> None:
        _check_tom_playing(self.name, self.tom_playing, self.barely_tom_strokes)

    def as_metadata(self) -> dict:
        """The conditions as JSON-serialisable data."""
        return asdict(self)


TRAINING_CONDITIONS = Conditions()
STRESS_CONDITIONS = Conditions(
    name="stress",
    input_gain_range_db=24.0,
    overhead_imbalance_db=(0.0, 12.0),
    rejection_cut_db=(6.0, 10.0),
    room_tail_rt60_s=(0.8, 1.4),
    room_tail_db=(-12.0, -6.0),
    overhead_reflection_ms=(30.0, 70.0),
    close_reflection_ms=(25.0, 60.0),
    tom_playing=(("normal", 1 / 3), ("barely", 1 / 3), ("never", 1 / 3)),
)
CONDITIONS = {conditions.name: conditions for conditions in (TRAINING_CONDITIONS, STRESS_CONDITIONS)}
#: The room-model corpus: training ranges from a dead booth to a live room, and stress beyond them
#: (larger, more reverberant rooms, mics further from their drums, a kick mic outside the shell,
#: input gains of ±24 dB, an overhead pair out of balance).
SESSION_CONDITIONS = RoomConditions()
SESSION_STRESS_CONDITIONS = RoomConditions(
    name="session_stress",
    room_size_m=((8.0, 16.0), (6.0, 12.0), (3.5, 7.0)),
    rt60_s=(0.9, 1.8),
    close_distance_m=(0.2, 0.35),
    kick_mic_distance_m=(0.35, 0.6),
    kick_isolation_db=(0.0, 4.0),
    input_gain_range_db=24.0,
    overhead_imbalance_db=(0.0, 12.0),
    tom_playing=(("normal", 1 / 3), ("barely", 1 / 3), ("never", 1 / 3)),
)



def draw_tom_playing(rng: np.random.Generator, conditions: Conditions | RoomConditions) -> tuple[str, int | None]:
    """(TOM_PLAYING name, tom strokes to keep: None to keep the performance's) of one song; no draws
    where `conditions` play every song's toms normally."""
    names = [name for name, _ in conditions.tom_playing]
    if names == ["normal"]:
        return "normal", None
    name = names[int(rng.choice(len(names), p=[share for _, share in conditions.tom_playing]))]
    if name == "normal":
        return name, None
    low, high = conditions.barely_tom_strokes
    return name, int(rng.integers(low, high + 1)) if name == "barely" else 0
