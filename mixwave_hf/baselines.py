"""Baseline mixes a model is measured beside: the plain sum, the loudness-matched sum, a rule-based mix.

Each takes {slot: [samples] mono float32} at `sample_rate` Hz and returns a [2, samples] float32 mix;
`BASELINES` lists them with what they need (design notes: docs/evaluation.md).

    mix = BASELINES["rule_based_mix"].mix(tracks, 44100, None)  # or rule_based_mix(tracks, 44100)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from mixwave_hf.audio import pan_gains
from mixwave_hf.loudness import level_tracks
from mixwave_hf.metrics import gain_to_loudness, loudness_matching_gain
from mixwave_hf.slots import DEFAULT_SLOTS, static_balance
from mixwave_hf.tracks import arrange_tracks

#: Pans of the plain and loudness-matched sums: the overheads to their sides, everything else centre.
SUM_PANS = {"overhead_L": -1.0, "overhead_R": 1.0}
#: Loudness (LUFS) every track is levelled to before the loudness-matched sum and the rule-based mix.
TRACK_LOUDNESS_LUFS = -30.0

#: How the baselines level each track (`loudness.track_level`): as the default model levels its inputs.
TRACK_LEVELLING = "close_strokes"
#: The rule-based mix is brought to this loudness (LUFS), unless that would peak above RULE_BASED_PEAK_DBFS.
RULE_BASED_LOUDNESS_LUFS = -18.0
RULE_BASED_PEAK_DBFS = -1.0

def pan_and_sum(slot_audio: np.ndarray, gains_db: Mapping[str, float], pans: Mapping[str, float],
                law: str) -> np.ndarray:
    """[slots, samples] tracks in DEFAULT_SLOTS order -> [2, samples] float32: each track times its gain
    (dB; absent slots 0 dB), panned (`pan_gains`; absent slots centre), summed."""
    mix = np.zeros((2, slot_audio.shape[-1]), np.float64)
    for slot, track in zip(DEFAULT_SLOTS, slot_audio, strict=True):
        if not track.any():
            continue
        gain = 10 ** (gains_db.get(slot, 0.0) / 20)
        left, right = pan_gains(pans.get(slot, 0.0), law)
        mix[0] += gain * left * track
        mix[1] += gain * right * track
    return mix.astype(np.float32)


def levelled_tracks(tracks: Mapping[str, np.ndarray], sample_rate: int, method: str = TRACK_LEVELLING) -> np.ndarray:
    """The tracks arranged in DEFAULT_SLOTS order ([slots, samples] float64), each brought to
    TRACK_LOUDNESS_LUFS by `loudness.level_tracks(method)` (tracks below the -70 LUFS gate are left as
    they are, not a noise floor boosted)."""
    levelled, _ = level_tracks(_arranged(tracks, sample_rate), sample_rate, method, TRACK_LOUDNESS_LUFS,
                               DEFAULT_SLOTS)
    return levelled.astype(np.float64)


def plain_sum(tracks: Mapping[str, np.ndarray], sample_rate: int) -> np.ndarray:
    """The tracks summed as they are: overhead_L to the left only, overhead_R to the right only, every
    other track at unity gain to both sides (equal-gain pan law, so a lone centre track comes out
    unchanged in both channels). Not normalised: it may clip, as a plain sum does."""
    return pan_and_sum(_arranged(tracks, sample_rate), {}, SUM_PANS, "equal_gain")


def loudness_matched_sum(tracks: Mapping[str, np.ndarray], sample_rate: int, reference: np.ndarray) -> np.ndarray:
    """Every track at equal loudness (`levelled_tracks`), summed with the plain sum's pans, then scaled
    to the loudness of `reference` ([channels, samples], the mix being compared with; `loudness_matching_gain`).

    A loudness ORACLE: its level comes from the reference, so metrics that depend on the level
    (METRICS[...].uses_loudness) do not compare it fairly. Not peak-limited.
    """
    reference = np.asarray(reference)
    if reference.ndim != 2 or reference.shape[0] not in (1, 2):
        raise ValueError(f"reference of shape {reference.shape}; expected [channels, samples], 1 or 2 channels")
    mix = pan_and_sum(levelled_tracks(tracks, sample_rate), {}, SUM_PANS, "equal_gain")
    return (mix * loudness_matching_gain(mix, reference, sample_rate)).astype(np.float32)


def rule_based_mix(tracks: Mapping[str, np.ndarray], sample_rate: int, perspective: str = "drummer") -> np.ndarray:
    """A careful engineer's starting point: each track levelled (`levelled_tracks`), then a fixed gain
    and pan per slot (constant-power pan law; from the drummer's perspective as below, or mirrored
    from the audience's, `slots.static_balance`), summed, and one gain on the sum to
    RULE_BASED_LOUDNESS_LUFS, lowered if needed so the mix peaks at RULE_BASED_PEAK_DBFS at most (a
    gain, no limiter). No EQ, compression or reverb.

    | slot       | gain (dB) | pan  | why                                                        |
    |------------|-----------|------|------------------------------------------------------------|
    | kick       |   0       |  0   | the backbone: centre and loudest                           |
    | snare      |   0       |  0   | the backbone: centre and loudest                           |
    | hihat      |  -6       | -0.3 | left of centre, where it sits for a right-handed drummer   |
    | tom_1      | -10       | -0.4 | high tom left of centre (*)                                |
    | tom_2      | -10       |  0   | mid tom centre (*)                                         |
    | tom_3      | -10       | +0.5 | floor tom right (*)                                        |
    | overhead_L |  -6       | -1   | hard left: the spaced pair already carries the kit's image |
    | overhead_R |  -6       | +1   | hard right                                                 |

    (*) Toms sit well down: a tom mic is mostly bleed between fills, and levelling the whole track
    lifts that bleed to the kick's loudness.
    """
    slot_audio = levelled_tracks(tracks, sample_rate)
    settings = static_balance(perspective)
    gains_db = {slot: gain for slot, (gain, _) in settings.items()}
    pans = {slot: pan for slot, (_, pan) in settings.items()}
    mix = pan_and_sum(slot_audio, gains_db, pans, "constant_power")
    peak = float(np.abs(mix).max()) if mix.size else 0.0
    if peak == 0.0:
        return mix
    gain = min(gain_to_loudness(mix, sample_rate, RULE_BASED_LOUDNESS_LUFS), 10 ** (RULE_BASED_PEAK_DBFS / 20) / peak)
    return (mix * gain).astype(np.float32)


def _arranged(tracks: Mapping[str, np.ndarray], sample_rate: int) -> np.ndarray:
    if sample_rate <= 0:
        raise ValueError(f"sample_rate={sample_rate}; expected a positive rate in Hz")
    # The model path's arrangement (aliases, stereo overheads, padding); its warnings are the model's to report.
    slot_audio, _ = arrange_tracks(tracks, DEFAULT_SLOTS)
    return slot_audio


@dataclass(frozen=True)
class BaselineInfo:
    """A baseline: `function(tracks, sample_rate)`, or `function(tracks, sample_rate, reference)` when
    `needs_reference`, or `function(tracks, sample_rate, perspective)` when it `pans` tracks by their
    role; `loudness_oracle` when its level is taken from the reference, so it is left out of
    comparisons on metrics with `uses_loudness`. `label` is its name for tables and model cards."""

    name: str
    label: str
    function: Callable[..., np.ndarray]
    needs_reference: bool
    loudness_oracle: bool
    description: str
    pans: bool = False

    def mix(self, tracks: Mapping[str, np.ndarray], sample_rate: int, reference: np.ndarray | None = None,
            perspective: str = "drummer") -> np.ndarray:
        """The [2, samples] mix of `tracks`; `reference` ([channels, samples]) is required when
        `needs_reference` and ignored otherwise; `perspective` (slots.PERSPECTIVES) where it `pans`."""
        if self.pans:
            return self.function(tracks, sample_rate, perspective)
        if not self.needs_reference:
            return self.function(tracks, sample_rate)
        if reference is None:
            raise ValueError(f"baseline {self.name!r} needs the reference mix; pass reference=[2, samples] audio")
        return self.function(tracks, sample_rate, reference)


BASELINES: dict[str, BaselineInfo] = {
    info.name: info
    for info in (
        BaselineInfo("plain_sum", "plain sum", plain_sum, False, False,
                     "the tracks summed as recorded; overheads hard left/right, the rest centre at unity"),
        BaselineInfo("loudness_matched_sum", "loudness-matched sum (loudness oracle)", loudness_matched_sum, True, True,
                     f"each track at {TRACK_LOUDNESS_LUFS:g} LUFS, summed like plain_sum, scaled to the "
                     "reference's loudness (a loudness oracle)"),
        BaselineInfo("rule_based_mix", "rule-based mix", rule_based_mix, False, False,
                     "tracks levelled, fixed per-role gains and constant-power pans, "
                     f"{RULE_BASED_LOUDNESS_LUFS:g} LUFS or {RULE_BASED_PEAK_DBFS:g} dBFS peak", pans=True),
    )
}
