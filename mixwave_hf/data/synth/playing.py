"""How a song is played beyond its groove: the implement, crashes or none, time on the hi-hat, the ride or both.

`draw_playing` draws a `Playing`; `grooves.draw_groove(rng, seconds, playing=playing)` plays it
(docs/synthetic-corpus.md). Both are importable from grooves too.

    playing = draw_playing(np.random.default_rng(7))  # e.g. Playing("brushes", crashes=False, timekeeping="mixed")
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# How songs are played, as shares of songs. No survey of sessions behind these: sticks stay the bulk
# (rock, funk, pop); brushes get a fifth of the songs, enough for a model to learn their sound (a real
# session it is checked on is brushed); rods are rarer. A fifth of the songs have no crash (a verse, a
# quiet song); some keep time on the ride only, some on the hi-hat only, the rest switch per phrase.
IMPLEMENT_SHARES = {"sticks": 0.7, "brushes": 0.2, "rods": 0.1}
NO_CRASH_SHARE = 0.2
TIMEKEEPING_SHARES = {"mixed": 0.7, "hihat_only": 0.15, "ride_only": 0.15}
#: Styles (of grooves.STYLES) a song is drawn from per implement; an explicit style must be one of them,
#: except that sticks play any style. A stick song is never drawn a ballad, so songs drawn with sticks
#: are the songs drawn before other implements existed. Rods and brushes play the slower tempi.
IMPLEMENT_STYLES = {"sticks": ("rock", "funk", "shuffle", "half_time", "four_on_the_floor", "jazz"),
                    "brushes": ("jazz", "shuffle", "ballad"), "rods": ("rock", "half_time", "shuffle", "funk")}
IMPLEMENT_MAX_BPM = {"brushes": 160.0, "rods": 120.0}
#: Range of the velocity scale of the hands' strokes (`GrooveParams.touch`); cymbals take CYMBAL_TOUCH on
#: top (a brushed ride is soft), the feet half the reduction (they play no brush).
IMPLEMENT_TOUCH = {"sticks": (1.0, 1.0), "brushes": (0.5, 0.7), "rods": (0.6, 0.8)}
CYMBAL_TOUCH = 0.85
CYMBALS = ("hihat", "ride", "crash_1", "crash_2")
#: Beats one brush sweep may last, per brush style (a jazz swirl may circle once a bar).
SWEEP_BEATS = {"jazz": (1, 2, 4), "shuffle": (1, 2), "ballad": (1, 2)}
#: Chance that a brush phrase keeping time on the hi-hat leaves it to the sweeps and the foot on 2 and 4.
SWEEPS_ONLY_RATE = 0.5


@dataclass(frozen=True)
class Playing:
    """How a song is played beyond its groove: the implement, whether any crash is played, the timekeeping.

    implement: "sticks", "brushes" (sweeps and taps on the snare, brush styles only) or "rods";
    crashes: False plays no crash at all (the kick still marks a phrase's downbeat);
    timekeeping: "mixed" (hi-hat or ride, drawn per phrase), "hihat_only" or "ride_only".
    """

    implement: str = "sticks"
    crashes: bool = True
    timekeeping: str = "mixed"

    def __post_init__(self) -> None:
        if self.implement not in IMPLEMENT_SHARES:
            raise ValueError(f"implement {self.implement!r}; expected one of {list(IMPLEMENT_SHARES)}")
        if not isinstance(self.crashes, bool):
            raise ValueError(f"crashes {self.crashes!r}; expected True or False")
        if self.timekeeping not in TIMEKEEPING_SHARES:
            raise ValueError(f"timekeeping {self.timekeeping!r}; expected one of {list(TIMEKEEPING_SHARES)}")

    def as_metadata(self) -> dict:
        """The choices as JSON-serialisable data."""
        return asdict(self)


def draw_playing(rng: np.random.Generator) -> Playing:
    """A song's Playing, drawn with IMPLEMENT_SHARES, NO_CRASH_SHARE and TIMEKEEPING_SHARES (three draws)."""
    implement = str(rng.choice(list(IMPLEMENT_SHARES), p=list(IMPLEMENT_SHARES.values())))
    crashes = bool(rng.random() >= NO_CRASH_SHARE)
    timekeeping = str(rng.choice(list(TIMEKEEPING_SHARES), p=list(TIMEKEEPING_SHARES.values())))
    return Playing(implement, crashes, timekeeping)


def touched_velocity(velocity: int, touch: float, piece: str, articulation: str) -> int:
    """MIDI velocity 1-127 of a stroke at `velocity` played with the hands' velocity scale `touch` (1: sticks).

    Cymbals (a brushed or rodded ride and hi-hat) take CYMBAL_TOUCH on top; the feet (kick, hi-hat
    pedal) play no brush or rod, and only half the reduction (a drummer plays the kick softer too).
    """
    if touch == 1.0:
        return velocity
    if piece == "kick" or articulation == "pedal":
        scale = (1.0 + touch) / 2
    else:
        scale = touch * (CYMBAL_TOUCH if piece in CYMBALS else 1.0)
    return max(1, int(round(velocity * scale)))
