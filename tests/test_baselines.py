"""Baseline mixes: pan laws, where each track lands, loudness matching, peak safety, missing slots."""

import math

import numpy as np
import pytest
from drums import synthesize_drum_tracks

from mixwave_hf.baselines import (
    BASELINES,
    RULE_BASED_PEAK_DBFS,
    TRACK_LOUDNESS_LUFS,
    levelled_tracks,
    loudness_matched_sum,
    pan_gains,
    plain_sum,
    rule_based_mix,
)
from mixwave_hf.loudness import LEVELLING_METHODS, measure_levelling, track_level
from mixwave_hf.metrics import METRICS, score, strict_integrated_loudness
from mixwave_hf.slots import DEFAULT_SLOTS, STATIC_BALANCE, static_balance

SR = 44_100


@pytest.fixture(scope="module")
def tracks() -> dict[str, np.ndarray]:
    return synthesize_drum_tracks(2.0, SR)


def run_baseline(name: str, tracks: dict[str, np.ndarray], sample_rate: int,
                 reference: np.ndarray | None = None) -> np.ndarray:
    """The [2, samples] mix of baseline `name` (a key of BASELINES); see `BaselineInfo.mix`."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; expected one of {list(BASELINES)}")
    return BASELINES[name].mix(tracks, sample_rate, reference)


def balance(mix: np.ndarray) -> float:
    """(R² - L²) / (R² + L²) of a [2, samples] mix: -1 all left, +1 all right."""
    left, right = (float(np.sum(channel.astype(np.float64) ** 2)) for channel in mix)
    return (right - left) / (right + left)


def test_plain_sum_of_a_centre_track_is_that_track_in_both_channels(tracks):
    mix = plain_sum({"kick": tracks["kick"]}, SR)
    assert mix.shape == (2, len(tracks["kick"])) and mix.dtype == np.float32
    np.testing.assert_array_equal(mix[0], tracks["kick"])
    np.testing.assert_array_equal(mix[1], tracks["kick"])


def test_plain_sum_puts_the_overheads_on_their_sides(tracks):
    left = plain_sum({"overhead_L": tracks["overhead_L"]}, SR)
    np.testing.assert_array_equal(left[0], tracks["overhead_L"])
    assert not left[1].any()
    right = plain_sum({"overhead_R": tracks["overhead_R"]}, SR)
    assert not right[0].any()
    np.testing.assert_array_equal(right[1], tracks["overhead_R"])


def test_plain_sum_is_the_sum_and_is_not_normalised(tracks):
    mix = plain_sum(tracks, SR)
    centre = sum(tracks[slot].astype(np.float64) for slot in DEFAULT_SLOTS[:6])
    np.testing.assert_allclose(mix[0], centre + tracks["overhead_L"], atol=1e-6)
    np.testing.assert_allclose(mix[1], centre + tracks["overhead_R"], atol=1e-6)
    loud = plain_sum({"kick": np.full(100, 0.8, np.float32), "snare": np.full(100, 0.8, np.float32)}, SR)
    assert loud.max() == pytest.approx(1.6)


def test_pan_laws():
    assert pan_gains(0.0, "equal_gain") == (1.0, 1.0)
    assert pan_gains(-1.0, "equal_gain") == (1.0, 0.0)
    assert pan_gains(0.5, "equal_gain") == (0.5, 1.0)
    left, right = pan_gains(0.0, "constant_power")
    assert left == pytest.approx(math.sqrt(0.5)) and right == pytest.approx(math.sqrt(0.5))
    for pan in (-1.0, -0.3, 0.0, 0.7, 1.0):
        assert sum(gain**2 for gain in pan_gains(pan, "constant_power")) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="pan=1.5"):
        pan_gains(1.5, "constant_power")
    with pytest.raises(ValueError, match="expected one of"):
        pan_gains(0.0, "linear")


def test_levelled_tracks_are_equally_loud(tracks):
    for method in LEVELLING_METHODS:
        levelled = levelled_tracks(tracks, SR, method)
        if method == "bleed_aware":  # measured on each close mic's own strokes, which only all tracks tell
            again = measure_levelling(levelled, SR, method, TRACK_LOUDNESS_LUFS, DEFAULT_SLOTS).gains_db
            assert np.abs(again).max() < 0.05, again
            continue
        for slot, track in zip(DEFAULT_SLOTS, levelled, strict=True):
            measure = "integrated" if method == "close_strokes" and slot.startswith("overhead") else method
            assert track_level(track, SR, measure) == pytest.approx(TRACK_LOUDNESS_LUFS, abs=0.05), (method, slot)


def test_loudness_matched_sum_has_the_references_loudness(tracks):
    reference = 0.3 * rule_based_mix(tracks, SR)
    mix = loudness_matched_sum(tracks, SR, reference)
    assert mix.shape == (2, len(tracks["kick"]))
    assert strict_integrated_loudness(mix, SR) == pytest.approx(strict_integrated_loudness(reference, SR), abs=0.1)
    assert score(mix, reference, SR)["loudness_error"] < 0.1


def test_rule_based_mix_peaks_below_full_scale(tracks):
    for gain in (0.01, 1.0, 30.0):  # quiet, as recorded, and far too hot: the output level does not follow
        mix = rule_based_mix({slot: gain * track for slot, track in tracks.items()}, SR)
        assert np.abs(mix).max() <= 10 ** (RULE_BASED_PEAK_DBFS / 20) + 1e-6
        assert strict_integrated_loudness(mix, SR) > -30


def test_rule_based_mix_pans_as_documented(tracks):
    """Each track alone lands where its pan says (constant power: balance = sin(pan·π/2)); toms run left to right."""
    for slot, (_, pan) in STATIC_BALANCE.items():
        assert balance(rule_based_mix({slot: tracks[slot]}, SR)) == pytest.approx(math.sin(pan * math.pi / 2),
                                                                                  abs=1e-6), slot
    tom_pans = [balance(rule_based_mix({slot: tracks[slot]}, SR)) for slot in ("tom_1", "tom_2", "tom_3")]
    assert tom_pans == sorted(tom_pans) and tom_pans[0] < 0 < tom_pans[2]
    assert balance(rule_based_mix({"hihat": tracks["hihat"]}, SR)) < 0
    kick_and_snare = rule_based_mix({"kick": tracks["kick"], "snare": tracks["snare"]}, SR)
    np.testing.assert_allclose(kick_and_snare[0], kick_and_snare[1])


def test_rule_based_mix_from_the_audience_mirrors_the_kit_not_the_overheads(tracks):
    for slot, (_, pan) in static_balance("audience").items():
        alone = rule_based_mix({slot: tracks[slot]}, SR, "audience")
        assert balance(alone) == pytest.approx(math.sin(pan * math.pi / 2), abs=1e-6), slot
    assert balance(rule_based_mix({"hihat": tracks["hihat"]}, SR, "audience")) > 0
    assert balance(rule_based_mix({"overhead_L": tracks["overhead_L"]}, SR, "audience")) < 0


def test_rule_based_gains_are_relative_to_equal_loudness():
    """Two equally loud tracks come out apart by the difference of their gains in the table."""
    rng = np.random.default_rng(0)
    kick, hihat = (rng.normal(0, std, 2 * SR).astype(np.float32) for std in (0.3, 0.01))  # recorded 30 dB apart
    mix = rule_based_mix({"kick": kick, "hihat": hihat}, SR).astype(np.float64)
    basis = np.stack([kick, hihat], axis=1).astype(np.float64)
    weights = np.array([np.linalg.lstsq(basis, channel, rcond=None)[0] for channel in mix])  # [channel, track]
    kick_power, hihat_power = (weights**2 * np.var(basis, axis=0)).sum(axis=0)
    expected_db = STATIC_BALANCE["hihat"][0] - STATIC_BALANCE["kick"][0]
    assert 10 * math.log10(hihat_power / kick_power) == pytest.approx(expected_db, abs=0.1)


def test_missing_and_short_slots(tracks):
    partial = {"kick": tracks["kick"], "overhead_L": tracks["overhead_L"][: SR // 2]}  # shorter: padded
    for name in BASELINES:
        mix = run_baseline(name, partial, SR, reference=np.stack([tracks["snare"]] * 2))
        assert mix.shape == (2, len(tracks["kick"])) and np.isfinite(mix).all(), name
    short = {"kick": tracks["kick"][: SR // 10]}  # under 400 ms: levelled by its ungated level
    assert np.isfinite(rule_based_mix(short, SR)).all() and rule_based_mix(short, SR).any()
    assert plain_sum({}, SR).shape == (2, 0)
    silent = {"kick": np.zeros(SR, np.float32)}
    assert not rule_based_mix(silent, SR).any() and not loudness_matched_sum(silent, SR, np.ones((2, SR))).any()


def test_unknown_slots_and_missing_references_raise(tracks):
    with pytest.raises(ValueError, match="unknown slot 'cowbell'"):
        plain_sum({"cowbell": tracks["kick"]}, SR)
    with pytest.raises(ValueError, match="needs the reference"):
        run_baseline("loudness_matched_sum", tracks, SR)
    with pytest.raises(ValueError, match="unknown baseline"):
        run_baseline("limiter", tracks, SR)
    with pytest.raises(ValueError, match=r"reference of shape \(88200,\)"):
        loudness_matched_sum(tracks, SR, tracks["kick"])


def test_registry_flags_the_loudness_oracle(tracks):
    assert BASELINES["loudness_matched_sum"].loudness_oracle and BASELINES["loudness_matched_sum"].needs_reference
    for name in ("plain_sum", "rule_based_mix"):
        assert not BASELINES[name].loudness_oracle and not BASELINES[name].needs_reference
    # Every baseline scores against a reference; the evaluator leaves the oracle's level-dependent metrics out.
    reference = rule_based_mix(tracks, SR)[::-1].copy()
    fair = {name for name, info in METRICS.items() if not info.uses_loudness}
    for name, info in BASELINES.items():
        scores = score(run_baseline(name, tracks, SR, reference=reference), reference, SR)
        compared = fair if info.loudness_oracle else set(METRICS)
        assert all(math.isfinite(scores[metric]) for metric in compared), name


def test_registry_entries_mix_through_one_call(tracks):
    reference = plain_sum(tracks, SR)
    for name, info in BASELINES.items():
        assert info.label and info.description
        np.testing.assert_array_equal(info.mix(tracks, SR, reference if info.needs_reference else None),
                                      run_baseline(name, tracks, SR, reference=reference))
