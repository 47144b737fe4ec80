"""Mixing metrics on signals with known answers: identity, gains, hard pans, tones, clipping."""

import math

import numpy as np
import pytest
from drums import synthesize_drum_tracks

from mixwave_hf import metrics
from mixwave_hf.metrics import (
    HEADLINE_METRIC,
    METRICS,
    feature_errors,
    l1_distance,
    loudness_error,
    loudness_matched_stereo_stft_distance,
    mean_absolute_percentage_error,
    score,
    si_sdr,
    stereo_stft_distance,
    strict_integrated_loudness,
    window_features,
)

SR = 44_100


@pytest.fixture(scope="module")
def drum_mix() -> np.ndarray:
    """3 s of a stereo drum mix: [2, samples] float32, the hi-hat and overheads off centre."""
    tracks = synthesize_drum_tracks(3.0, SR)
    centre = tracks["kick"] + tracks["snare"] + 0.5 * (tracks["tom_1"] + tracks["tom_2"] + tracks["tom_3"])
    return np.stack([centre + tracks["overhead_L"] + 0.8 * tracks["hihat"],
                     centre + tracks["overhead_R"] + 0.3 * tracks["hihat"]]).astype(np.float32)


def tone(frequency: float, seconds: float = 2.0, amplitude: float = 1.0, cosine: bool = False) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    return amplitude * (np.cos if cosine else np.sin)(2 * np.pi * frequency * t)


def test_identical_mixes_score_zero_error(drum_mix):
    scores = score(drum_mix, drum_mix.copy(), SR)
    assert list(scores) == list(METRICS)
    for name, value in scores.items():
        if name == "si_sdr":
            assert value > 100
        else:
            assert value == pytest.approx(0.0, abs=1e-9), name


@pytest.mark.parametrize("gain_db", [6.0, -6.0])
def test_a_gain_change_is_a_loudness_error_and_nothing_else_after_matching(drum_mix, gain_db):
    louder = drum_mix * np.float32(10 ** (gain_db / 20))
    scores = score(louder, drum_mix, SR)
    assert scores["loudness_error"] == pytest.approx(6.0, abs=0.1)
    assert scores["loudness_mae"] == pytest.approx(6.0, abs=0.1)
    assert scores["stereo_stft"] > 0.5  # the level shows in the plain distance ...
    assert scores[HEADLINE_METRIC] < 1e-4  # ... and is gone once matched
    assert scores["rms_mape"] == pytest.approx(100 * abs(10 ** (gain_db / 20) - 1), rel=1e-4)
    assert scores["si_sdr"] > 100
    for name in ("spectral_centroid_mape", "spectral_bandwidth_mape", "spectral_rolloff_mape",
                 "spectral_flatness_mape", "panning_low_mae", "panning_mid_mae", "panning_high_mae",
                 "crest_factor_mape"):
        assert scores[name] == pytest.approx(0.0, abs=1e-4), name  # float32 rounding of the gain


def test_metrics_that_depend_on_the_level_say_so(drum_mix):
    """A gain changes exactly the metrics flagged uses_loudness (those the loudness oracle is left out of)."""
    scores = score(drum_mix * np.float32(0.5), drum_mix, SR)
    changed = {name for name, value in scores.items() if name != "si_sdr" and value > 1e-4}
    assert changed == {name for name, info in METRICS.items() if info.uses_loudness}


def test_bs1770_loudness_of_a_full_scale_997_hz_sine():
    assert strict_integrated_loudness(tone(997.0), SR) == pytest.approx(-3.01, abs=0.05)  # one channel
    assert strict_integrated_loudness(np.stack([tone(997.0)] * 2), SR) == pytest.approx(0.0, abs=0.05)


def test_loudness_of_short_and_silent_audio_is_explicit():
    assert math.isnan(strict_integrated_loudness(np.zeros((2, int(0.3 * SR))), SR))
    assert strict_integrated_loudness(np.zeros((2, SR)), SR) == -math.inf
    short = np.stack([tone(440.0, 0.3)] * 2)
    assert math.isnan(loudness_error(short, 0.5 * short, SR))
    # A silent estimate counts at the -70 LUFS gate: a large, finite error.
    reference = np.stack([tone(997.0)] * 2)
    assert loudness_error(np.zeros_like(reference), reference, SR) == pytest.approx(70.0, abs=0.1)
    assert math.isnan(loudness_matched_stereo_stft_distance(reference, np.zeros_like(reference), SR))


def test_short_mixes_still_score():
    """Under 400 ms (no integrated loudness) and under the largest STFT frame: NaN only where undefined."""
    rng = np.random.default_rng(0)
    reference = rng.normal(0, 0.1, (2, 3000)).astype(np.float32)
    scores = score(0.5 * reference, reference, SR)
    assert math.isnan(scores["loudness_error"])
    assert scores[HEADLINE_METRIC] < 1e-4  # matched by the ungated level instead
    assert all(math.isfinite(value) for name, value in scores.items() if name != "loudness_error")


def test_hard_left_is_panning_minus_one_in_every_band():
    noise = np.random.default_rng(1).normal(0, 0.1, 2 * SR)
    left_only = np.stack([noise, np.zeros_like(noise)])
    features = window_features(left_only, SR)
    for band in metrics.PANNING_BANDS_HZ:
        np.testing.assert_allclose(features[f"panning_{band}"], -1.0)
        np.testing.assert_allclose(window_features(left_only[::-1], SR)[f"panning_{band}"], 1.0)
        np.testing.assert_allclose(window_features(np.stack([noise, noise]), SR)[f"panning_{band}"], 0.0, atol=1e-12)
    errors = feature_errors(np.stack([noise, noise]), left_only, SR)  # centre against hard left
    for band in metrics.PANNING_BANDS_HZ:
        assert errors[f"panning_{band}_mae"] == pytest.approx(1.0)


@pytest.mark.parametrize("frequency", [1000.0, 3150.0])
def test_spectral_centroid_and_rolloff_of_a_pure_tone_are_its_frequency(frequency):
    features = window_features(np.stack([tone(frequency)] * 2), SR)
    bin_hz = SR / metrics.spectrum_frame_size(SR)
    np.testing.assert_allclose(features["spectral_centroid"], frequency, atol=bin_hz)
    np.testing.assert_allclose(features["spectral_rolloff"], frequency, atol=2 * bin_hz)  # the Hann main lobe
    assert (features["spectral_bandwidth"] < 2 * bin_hz).all()
    assert (features["spectral_flatness"] < 1e-3).all()
    noise = np.random.default_rng(2).normal(0, 0.1, (2, 2 * SR))
    assert (window_features(noise, SR)["spectral_flatness"] > 0.5).all()


def test_rms_and_crest_errors_of_a_clipped_sine():
    """A sine hard-clipped into a square wave (441 Hz: whole periods per window) has RMS 1 instead of
    1/sqrt(2) and crest factor 1 instead of sqrt(2)."""
    sine = tone(441.0)
    square = np.where(sine >= 0, 1.0, -1.0)
    errors = feature_errors(np.stack([square] * 2), np.stack([sine] * 2), SR)
    assert errors["rms_mape"] == pytest.approx(100 * (math.sqrt(2) - 1), rel=1e-6)
    assert errors["crest_factor_mape"] == pytest.approx(100 * (1 - 1 / math.sqrt(2)), rel=1e-6)


def test_mape_definition_on_a_hand_computed_case():
    # |110-100|/100 = 10 %, |95-100|/100 = 5 %, |-3-2|/2 = 250 %; the zero reference is skipped.
    assert mean_absolute_percentage_error([110.0, 95.0, -3.0, 7.0], [100.0, 100.0, 2.0, 0.0]) == pytest.approx(
        (10 + 5 + 250) / 3)
    assert math.isnan(mean_absolute_percentage_error([1.0], [0.0]))


def test_feature_errors_skip_windows_where_the_reference_is_silent(drum_mix):
    reference = drum_mix.copy()
    reference[:, SR:] = 0.0  # 1 s of drums, then 2 s of silence
    estimate = reference.copy()
    estimate[:, 2 * SR :] = drum_mix[:, 2 * SR :]  # plays on, only in windows where the reference is silent
    errors = feature_errors(estimate, reference, SR)
    for name in ("rms_mape", "loudness_mae", "spectral_centroid_mape", "panning_high_mae"):
        assert errors[name] == pytest.approx(0.0, abs=1e-9), name
    all_silent = feature_errors(estimate, np.zeros_like(reference), SR)
    assert all(math.isnan(value) for value in all_silent.values())


def test_si_sdr_and_l1_known_answers():
    signal = tone(441.0, 1.0)
    interference = tone(882.0, 1.0, amplitude=0.1, cosine=True)  # orthogonal, 20 dB down
    reference = np.stack([signal, signal])
    assert si_sdr(reference + interference, reference) == pytest.approx(20.0, abs=0.01)
    assert si_sdr(3.0 * reference + interference, reference) == pytest.approx(20.0 + 20 * math.log10(3), abs=0.01)
    assert l1_distance(reference + 0.25, reference) == pytest.approx(0.25)
    # A channel silent in the reference is left out, not scored as -inf.
    left_only = np.stack([signal, np.zeros_like(signal)])
    assert si_sdr(left_only + np.stack([interference, interference]), left_only) == pytest.approx(20.0, abs=0.01)


def test_stereo_stft_sees_width_but_not_mirroring(drum_mix):
    mono = np.stack([drum_mix.mean(axis=0)] * 2)
    assert stereo_stft_distance(mono, drum_mix) > 0.5
    # L-R and R-L have the same magnitude spectrum: a mirrored mix is a perfect match here, which is
    # why the panning errors are reported beside it.
    mirrored = drum_mix[::-1].copy()
    assert stereo_stft_distance(mirrored, drum_mix) == pytest.approx(0.0, abs=1e-6)
    panning = window_features(drum_mix, SR)["panning_high"]
    assert abs(panning).mean() > 0.01
    assert feature_errors(mirrored, drum_mix, SR)["panning_high_mae"] == pytest.approx(2 * abs(panning).mean())


@pytest.mark.parametrize("estimate_shape,reference_shape", [
    ((2, 1000), (2, 1001)), ((1000,), (2, 1000)), ((1, 1000), (1, 1000)), ((1000, 2), (1000, 2)), ((2, 0), (2, 0)),
])
def test_bad_shapes_raise_naming_both(estimate_shape, reference_shape):
    with pytest.raises(ValueError) as error:
        score(np.zeros(estimate_shape, np.float32), np.zeros(reference_shape, np.float32), SR)
    assert str(estimate_shape) in str(error.value) and str(reference_shape) in str(error.value)
    assert "[2, samples]" in str(error.value)


def test_non_finite_samples_and_bad_rates_raise():
    mix = np.zeros((2, SR), np.float32)
    broken = mix.copy()
    broken[0, 10] = np.nan
    with pytest.raises(ValueError, match="estimate: 1 NaN"):
        score(broken, mix, SR)
    with pytest.raises(ValueError, match="sample_rate=0"):
        score(mix, mix, 0)


def test_registry_describes_every_metric():
    for name, info in METRICS.items():
        assert info.name == name and info.description
        if name.endswith("_mape"):
            assert info.unit == "%"
        elif name.endswith("_mae"):
            assert info.unit == "LU" or info.unit.startswith("pan")
    assert not METRICS[HEADLINE_METRIC].uses_loudness and METRICS[HEADLINE_METRIC].lower_is_better
    assert not METRICS["si_sdr"].lower_is_better
    assert METRICS["loudness_error"].uses_loudness and METRICS["loudness_error"].unit == "LU"


def test_crest_factor_error_compares_the_whole_mixes_dynamics():
    from mixwave_hf.loudness import crest_factor_db

    rate = 44_100
    time = np.arange(rate) / rate
    sine = np.stack([np.sin(2 * np.pi * 100 * time)] * 2).astype(np.float32)
    square = np.sign(sine) * 0.5
    assert crest_factor_db(sine) == pytest.approx(20 * np.log10(np.sqrt(2)), abs=0.01)
    assert crest_factor_db(square) == pytest.approx(0.0, abs=1e-3)  # sign(0) = 0 at a few samples
    assert np.isnan(crest_factor_db(np.zeros((2, 100))))
    assert score(square, sine, rate)["crest_factor_error_db"] == pytest.approx(3.01, abs=0.01)
    assert score(sine * 0.1, sine, rate)["crest_factor_error_db"] == pytest.approx(0.0, abs=1e-3)  # level-free
