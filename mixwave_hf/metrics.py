"""Objective measures of a stereo mix against a reference mix (what each measures: docs/metrics.md).

`score(estimate, reference, sample_rate)` computes every metric of `METRICS` on two [2, samples]
float arrays of the same shape; a metric with no meaningful value for the input is NaN.

    scores = score(mix, reference, 44100)  # {"stereo_stft": ..., "stereo_stft_loudness_matched": ..., ...}
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from mixwave_hf.audio import check_finite
from mixwave_hf.loudness import crest_factor_db, integrated_loudness
from mixwave_hf.stft_loss import SumAndDifferenceSTFTLoss

#: The stereo STFT distance's resolutions (FFT size = window; hop = FFT size / 4), as FxNorm-automix.
STFT_FFT_SIZES = (512, 2048, 8192)
#: BS.1770 gating block (s): integrated loudness is undefined for anything shorter.
LOUDNESS_BLOCK_SECONDS = 0.4
#: BS.1770 absolute gate (LUFS): blocks below it do not count, and levels are floored here.
LOUDNESS_GATE_LUFS = -70.0
#: Running windows the features are compared over.
FEATURE_WINDOW_SECONDS = 1.0
FEATURE_HOP_SECONDS = 0.5
#: A reference window whose RMS (over both channels) is below this level (dBFS) is silent: skipped.
SILENCE_DBFS = -70.0
#: STFT frame of the feature spectra (s); rounded to a power of two in samples (4096 at 44.1/48 kHz).
SPECTRUM_FRAME_SECONDS = 0.093
#: The spectral rolloff frequency has this fraction of the magnitude spectrum below it.
ROLLOFF_FRACTION = 0.85
#: Spectral flatness floors power at this level (dB) below the window's strongest bin, so
#: leakage-free empty bins do not send the geometric mean to zero; a relative floor keeps it scale-free.
FLATNESS_FLOOR_DB = -100.0
#: Bands (Hz, [low, high)) the stereo panning spectrum is averaged in.
PANNING_BANDS_HZ = {"low": (0.0, 250.0), "mid": (250.0, 2500.0), "high": (2500.0, math.inf)}

#: The metric the training and the model cards compare models with.
HEADLINE_METRIC = "stereo_stft_loudness_matched"


@dataclass(frozen=True)
class MetricInfo:
    """What a metric measures: `unit` ("" when unitless), whether lower values are better, and
    `uses_loudness`, true when the value depends on the estimate's overall level (a gain), so that a
    baseline that takes its level from the reference (the loudness oracle) must not be compared on it."""

    name: str
    unit: str
    lower_is_better: bool
    description: str
    uses_loudness: bool


def _metric_infos() -> dict[str, MetricInfo]:
    window = (f"over {FEATURE_WINDOW_SECONDS:g} s windows every {FEATURE_HOP_SECONDS:g} s, "
              "reference-silent windows skipped")
    infos = [
        MetricInfo("stereo_stft", "", True,
                   "multi-resolution STFT distance (spectral convergence + log-magnitude L1; FFT 512/2048/8192) "
                   "of the sum and difference signals, averaged", True),
        MetricInfo(HEADLINE_METRIC, "", True,
                   "stereo_stft after gain-matching the estimate to the reference's integrated loudness: "
                   "balance, timbre and stereo image, not overall level", False),
        MetricInfo("l1", "FS", True, "mean absolute sample difference (full scale = 1)", True),
        MetricInfo("si_sdr", "dB", False, "scale-invariant signal-to-distortion ratio, mean over channels", False),
        MetricInfo("loudness_error", "LU", True,
                   "|integrated loudness of estimate - reference| (BS.1770, levels floored at -70 LUFS)", True),
        MetricInfo("loudness_mae", "LU", True, f"mean absolute error of loudness {window}", True),
        MetricInfo("spectral_centroid_mape", "%", True, f"mean absolute percentage error of spectral centroid {window}",
                   False),
        MetricInfo("spectral_bandwidth_mape", "%", True,
                   f"mean absolute percentage error of spectral bandwidth {window}", False),
        MetricInfo("spectral_rolloff_mape", "%", True,
                   f"mean absolute percentage error of the {ROLLOFF_FRACTION:.0%} spectral rolloff {window}", False),
        MetricInfo("spectral_flatness_mape", "%", True,
                   f"mean absolute percentage error of spectral flatness {window}", False),
        *(MetricInfo(f"panning_{band}_mae", "pan (-1 left .. 1 right)", True,
                     f"mean absolute error of the stereo panning spectrum averaged in {_band_label(low, high)} "
                     f"{window}", False)
          for band, (low, high) in PANNING_BANDS_HZ.items()),
        MetricInfo("rms_mape", "%", True, f"mean absolute percentage error of RMS level {window}", True),
        MetricInfo("crest_factor_mape", "%", True,
                   f"mean absolute percentage error of crest factor (peak / RMS) {window}", False),
        MetricInfo("crest_factor_error_db", "dB", True, "|crest factor (`crest_factor_db`) of estimate - reference|: "
                   "against the dry balance, how far a mix strays from the recording's dynamics", False),
    ]
    return {info.name: info for info in infos}


def _band_label(low: float, high: float) -> str:
    if low == 0:
        return f"< {high:g} Hz"
    return f"> {low:g} Hz" if math.isinf(high) else f"{low:g}-{high:g} Hz"


#: Every metric `score` returns, in its order.
METRICS: dict[str, MetricInfo] = _metric_infos()


def check_mixes(estimate: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both mixes as float64 [2, samples] arrays; ValueError naming both shapes unless they are alike,
    stereo and non-empty (AudioError, a ValueError, for NaN/inf samples)."""
    estimate, reference = np.asarray(estimate), np.asarray(reference)
    if estimate.shape != reference.shape or estimate.ndim != 2 or estimate.shape[0] != 2 or estimate.shape[1] == 0:
        raise ValueError(f"estimate of shape {estimate.shape} and reference of shape {reference.shape}; expected "
                         "both [2, samples] (left, right) with the same number of samples, at least one")
    check_finite(estimate, "estimate")
    check_finite(reference, "reference")
    return estimate.astype(np.float64), reference.astype(np.float64)


def _check_rate(sample_rate: int) -> None:
    if sample_rate <= 0:
        raise ValueError(f"sample_rate={sample_rate}; expected a positive rate in Hz")


# --- loudness ---------------------------------------------------------------------------------------


def strict_integrated_loudness(audio: np.ndarray, sample_rate: int) -> float:
    """BS.1770-4 integrated loudness (LUFS) of [channels, samples] (1 or 2 channels) or [samples] audio,
    only where BS.1770 defines it.

    `loudness.integrated_loudness` (the package's one meter, equal to pyloudnorm's), which measures a
    clip shorter than a block as one block of its own; this one does not: NaN when the audio
    is shorter than one 400 ms gating block (loudness is
    undefined there); -inf when every block is below the -70 LUFS absolute gate (digital silence too).
    """
    _check_rate(sample_rate)
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float64))
    if audio.shape[-1] < LOUDNESS_BLOCK_SECONDS * sample_rate:
        return math.nan
    return integrated_loudness(audio, sample_rate)


def loudness_level(audio: np.ndarray, sample_rate: int) -> float:
    """A level in LUFS to set gains by, defined for any length: the integrated loudness where BS.1770
    defines it; for audio shorter than 400 ms, the BS.1770 formula without K-weighting or gating
    (-0.691 + 10·log10 of the channels' summed mean squares). -inf below the gate or for silence."""
    level = strict_integrated_loudness(audio, sample_rate)
    if not math.isnan(level):
        return level
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float64))
    power = float(np.mean(audio**2, axis=-1).sum()) if audio.shape[-1] else 0.0
    if power == 0.0:
        return -math.inf
    return -0.691 + 10 * math.log10(power)


def gain_to_loudness(audio: np.ndarray, sample_rate: int, target_lufs: float) -> float:
    """Linear gain that brings `audio` ([channels, samples] or [samples]) to `target_lufs` by `loudness_level`;
    1.0 for audio below the -70 LUFS gate (nothing to measure, and boosting a noise floor helps no one)."""
    level = loudness_level(audio, sample_rate)
    return 1.0 if math.isinf(level) else 10 ** ((target_lufs - level) / 20)


def loudness_matching_gain(audio: np.ndarray, target: np.ndarray, sample_rate: int) -> float:
    """Linear gain that makes `audio` as loud as `target` (each [channels, samples] or [samples]) by
    `loudness_level`: 1.0 when `audio` is below the -70 LUFS gate (no gain can match it), 0.0 when
    only `target` is (matching silence)."""
    audio_level, target_level = loudness_level(audio, sample_rate), loudness_level(target, sample_rate)
    if math.isinf(audio_level):
        return 1.0
    if math.isinf(target_level):
        return 0.0
    return 10 ** ((target_level - audio_level) / 20)


def loudness_error(estimate: np.ndarray, reference: np.ndarray, sample_rate: int) -> float:
    """|LUFS(estimate) - LUFS(reference)| in LU (BS.1770 integrated loudness); lower is better.

    A level below the -70 LUFS gate (silence) counts as -70 LUFS, so a silent estimate of a loud
    reference scores a large finite error. NaN when the mixes are shorter than 400 ms.
    """
    estimate, reference = check_mixes(estimate, reference)
    levels = [strict_integrated_loudness(mix, sample_rate) for mix in (estimate, reference)]
    if any(math.isnan(level) for level in levels):
        return math.nan
    estimate_lufs, reference_lufs = (max(level, LOUDNESS_GATE_LUFS) for level in levels)
    return abs(estimate_lufs - reference_lufs)


# --- waveform and spectrum --------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _stereo_stft_loss() -> SumAndDifferenceSTFTLoss:
    return SumAndDifferenceSTFTLoss(STFT_FFT_SIZES)


def stereo_stft_distance(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Stereo multi-resolution STFT distance (unitless; 0 for identical mixes; lower is better).

    auraloss's `SumAndDifferenceSTFTLoss`, computed by `stft_loss.SumAndDifferenceSTFTLoss` (the training
    loss): the mean over FFT sizes STFT_FFT_SIZES (Hann window of the FFT size, hop a quarter of it) of
    spectral convergence plus log-magnitude L1, of the sum (L+R) and difference (L-R) signals,
    averaged. Mixes shorter than the largest FFT are zero-padded to it
    (torch's centred STFT needs that much). Blind spots: L-R and R-L have the same magnitudes, so a
    mirrored mix scores 0 (the panning errors see it); and a reference with no stereo difference
    (mono) makes the difference term large for any estimate with some (spectral convergence divides by it).
    """
    estimate, reference = check_mixes(estimate, reference)
    length = max(estimate.shape[-1], max(STFT_FFT_SIZES))
    pair = np.zeros((2, 1, 2, length), np.float32)
    pair[0, 0, :, : estimate.shape[-1]] = estimate
    pair[1, 0, :, : reference.shape[-1]] = reference
    with torch.inference_mode():
        distance = _stereo_stft_loss()(torch.from_numpy(pair[0]), torch.from_numpy(pair[1]))
    return float(distance)


def loudness_matched_stereo_stft_distance(estimate: np.ndarray, reference: np.ndarray, sample_rate: int) -> float:
    """`stereo_stft_distance` after a gain on the estimate that matches the reference's loudness
    (`loudness_matching_gain`): balance, timbre and stereo image, not the overall level. Unitless,
    lower is better; the project's headline metric. NaN when the reference is silent (nothing to match).
    """
    estimate, reference = check_mixes(estimate, reference)
    if math.isinf(loudness_level(reference, sample_rate)):
        return math.nan
    return stereo_stft_distance(estimate * loudness_matching_gain(estimate, reference, sample_rate), reference)


def l1_distance(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Mean absolute sample difference over both channels, in full-scale units (1.0 = 0 dBFS); lower is better."""
    estimate, reference = check_mixes(estimate, reference)
    return float(np.mean(np.abs(estimate - reference)))


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio (dB; Le Roux et al. 2019), zero-mean, the mean over
    channels; higher is better. A channel silent in the reference is left out (its SI-SDR is
    undefined); NaN when both are. Identical channels give about 10·log10(energy / 1e-12), very high.
    """
    estimate, reference = check_mixes(estimate, reference)
    estimate = estimate - estimate.mean(axis=-1, keepdims=True)
    reference = reference - reference.mean(axis=-1, keepdims=True)
    ratios = []
    for estimated, target in zip(estimate, reference, strict=True):
        target_energy = float(np.dot(target, target))
        if target_energy == 0.0:
            continue
        scaled_target = target * (np.dot(estimated, target) / target_energy)
        residual = estimated - scaled_target
        # The floor keeps identical channels finite (a perfect score, not inf).
        ratios.append(10 * math.log10(float(np.dot(scaled_target, scaled_target)) / (np.dot(residual, residual) + 1e-12)
                                      + 1e-12))
    return float(np.mean(ratios)) if ratios else math.nan


# --- features over running windows ------------------------------------------------------------------


def feature_windows(length: int, sample_rate: int) -> list[slice]:
    """The running windows over `length` samples: FEATURE_WINDOW_SECONDS long, starting every
    FEATURE_HOP_SECONDS, plus one ending at the last sample (so the tail counts); one window of the
    whole signal when it is shorter than a window."""
    window = round(FEATURE_WINDOW_SECONDS * sample_rate)
    hop = round(FEATURE_HOP_SECONDS * sample_rate)
    if length <= window:
        return [slice(0, length)]
    starts = list(range(0, length - window + 1, hop))
    if starts[-1] != length - window:
        starts.append(length - window)
    return [slice(start, start + window) for start in starts]


def spectrum_frame_size(sample_rate: int) -> int:
    """STFT frame (samples) of the feature spectra: the power of two nearest SPECTRUM_FRAME_SECONDS."""
    return 2 ** round(math.log2(SPECTRUM_FRAME_SECONDS * sample_rate))


def stft_magnitudes(audio: np.ndarray, frame_size: int) -> np.ndarray:
    """[channels, samples] -> [channels, frames, frame_size // 2 + 1] STFT magnitudes: periodic Hann
    frames every frame_size / 4 samples, uncentred; audio shorter than a frame is zero-padded to one."""
    if audio.shape[-1] < frame_size:
        audio = np.pad(audio, ((0, 0), (0, frame_size - audio.shape[-1])))
    frames = np.lib.stride_tricks.sliding_window_view(audio, frame_size, axis=-1)[:, :: frame_size // 4]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frame_size) / frame_size)
    return np.abs(np.fft.rfft(frames * window, axis=-1))


def spectral_centroid(power_spectrum: np.ndarray, frequencies: np.ndarray) -> float:
    """Centre of mass (Hz) of the magnitude spectrum (sqrt of `power_spectrum`, one value per bin at
    `frequencies` Hz); 0 for an empty spectrum."""
    magnitude = np.sqrt(power_spectrum)
    total = magnitude.sum()
    return float(np.dot(frequencies, magnitude) / total) if total > 0 else 0.0


def spectral_bandwidth(power_spectrum: np.ndarray, frequencies: np.ndarray) -> float:
    """Spread (Hz) of the magnitude spectrum around its centroid: the magnitude-weighted standard
    deviation of frequency (librosa's p=2 bandwidth); 0 for an empty spectrum."""
    magnitude = np.sqrt(power_spectrum)
    total = magnitude.sum()
    if total == 0:
        return 0.0
    centroid = np.dot(frequencies, magnitude) / total
    return float(np.sqrt(np.dot((frequencies - centroid) ** 2, magnitude) / total))


def spectral_rolloff(power_spectrum: np.ndarray, frequencies: np.ndarray) -> float:
    """The lowest frequency (Hz) below which ROLLOFF_FRACTION of the magnitude spectrum lies; 0 for an
    empty spectrum."""
    cumulative = np.cumsum(np.sqrt(power_spectrum))
    if cumulative[-1] == 0:
        return 0.0
    return float(frequencies[np.searchsorted(cumulative, ROLLOFF_FRACTION * cumulative[-1])])


def spectral_flatness(power_spectrum: np.ndarray) -> float:
    """Geometric over arithmetic mean of the power spectrum (unitless, 0 = a pure tone .. 1 = white
    noise), power floored FLATNESS_FLOOR_DB below the strongest bin; 0 for an empty spectrum."""
    peak = power_spectrum.max()
    if peak == 0:
        return 0.0
    floored = np.maximum(power_spectrum, peak * 10 ** (FLATNESS_FLOOR_DB / 10))
    return float(np.exp(np.mean(np.log(floored))) / np.mean(floored))


def stereo_panning(left_magnitude: np.ndarray, right_magnitude: np.ndarray) -> float:
    """Energy-weighted mean of the stereo panning spectrum over the given STFT bins (any equal shapes):
    -1 = hard left, 0 = centre, +1 = hard right; 0 when there is no energy.

    The panning spectrum (Avendano 2003; Tzanetakis et al. 2007) of a bin with magnitudes a (left)
    and b (right) is (1 - 2ab / (a² + b²)) · sign(b - a) = (b - a)|b - a| / (a² + b²). Weighting by
    a² + b² lets the bins that carry the sound decide, not the empty ones.
    """
    difference = right_magnitude - left_magnitude
    energy = float(np.sum(left_magnitude**2 + right_magnitude**2))
    return float(np.sum(difference * np.abs(difference)) / energy) if energy > 0 else 0.0


#: Per-window features (`window_features` keys) and their units.
FEATURE_UNITS = {
    "loudness": "LUFS", "spectral_centroid": "Hz", "spectral_bandwidth": "Hz", "spectral_rolloff": "Hz",
    "spectral_flatness": "", **{f"panning_{band}": "pan" for band in PANNING_BANDS_HZ}, "rms": "FS",
    "crest_factor": "",
}
# Features compared by mean absolute error in their own unit: a percentage of a LUFS value depends
# on where the scale puts 0, and panning is 0 at the centre.
_ABSOLUTE_ERROR_FEATURES = ("loudness", *(f"panning_{band}" for band in PANNING_BANDS_HZ))


def window_features(audio: np.ndarray, sample_rate: int) -> dict[str, np.ndarray]:
    """Features of [2, samples] stereo audio in each of `feature_windows`: {name: [windows] float64}.

    - loudness (LUFS): `loudness_level` of the window, floored at -70 LUFS;
    - spectral centroid, bandwidth, rolloff (Hz) and flatness (unitless) of the window's mean power
      spectrum over both channels and its STFT frames (`spectrum_frame_size`), so that quiet frames
      between drum hits do not get the same vote as the hits; 0 for a silent window;
    - panning_low/mid/high (-1 left .. +1 right): `stereo_panning` over the window's frames in each of
      PANNING_BANDS_HZ;
    - rms (full scale) over both channels, and crest factor: peak magnitude / rms (0 for silence).
    """
    _check_rate(sample_rate)
    audio = np.asarray(audio, dtype=np.float64)
    if audio.ndim != 2 or audio.shape[0] != 2:
        raise ValueError(f"audio of shape {audio.shape}; expected [2, samples] (left, right)")
    frame_size = spectrum_frame_size(sample_rate)
    frequencies = np.fft.rfftfreq(frame_size, 1 / sample_rate)
    bands = {band: (frequencies >= low) & (frequencies < high) for band, (low, high) in PANNING_BANDS_HZ.items()}
    features: dict[str, list[float]] = {name: [] for name in FEATURE_UNITS}
    for window in feature_windows(audio.shape[-1], sample_rate):
        segment = audio[:, window]
        magnitudes = stft_magnitudes(segment, frame_size)
        power_spectrum = np.mean(magnitudes**2, axis=(0, 1))
        features["loudness"].append(max(loudness_level(segment, sample_rate), LOUDNESS_GATE_LUFS))
        features["spectral_centroid"].append(spectral_centroid(power_spectrum, frequencies))
        features["spectral_bandwidth"].append(spectral_bandwidth(power_spectrum, frequencies))
        features["spectral_rolloff"].append(spectral_rolloff(power_spectrum, frequencies))
        features["spectral_flatness"].append(spectral_flatness(power_spectrum))
        for band, in_band in bands.items():
            features[f"panning_{band}"].append(stereo_panning(magnitudes[0][:, in_band], magnitudes[1][:, in_band]))
        rms = float(np.sqrt(np.mean(segment**2)))
        features["rms"].append(rms)
        features["crest_factor"].append(float(np.abs(segment).max()) / rms if rms > 0 else 0.0)
    return {name: np.asarray(values) for name, values in features.items()}


def mean_absolute_percentage_error(estimate: np.ndarray, reference: np.ndarray) -> float:
    """100 · mean(|estimate - reference| / |reference|) in %, over the entries where the reference is
    non-zero (the percentage is undefined elsewhere); NaN when there are none."""
    estimate, reference = np.asarray(estimate, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    defined = reference != 0
    if not defined.any():
        return math.nan
    return float(100 * np.mean(np.abs(estimate[defined] - reference[defined]) / np.abs(reference[defined])))


def feature_errors(estimate: np.ndarray, reference: np.ndarray, sample_rate: int) -> dict[str, float]:
    """The feature errors of METRICS (names ending `_mape` or `_mae`): `window_features` of both mixes,
    compared in the windows where the reference's RMS is at least SILENCE_DBFS.

    `_mape` (%, `mean_absolute_percentage_error`): spectral centroid, bandwidth, rolloff, flatness,
    RMS, crest factor. `_mae` (mean absolute error in the feature's unit): loudness (LU), panning in
    each band (pan units, -1 .. 1). All lower is better; NaN when every reference window is silent.
    """
    estimate, reference = check_mixes(estimate, reference)
    estimated, target = window_features(estimate, sample_rate), window_features(reference, sample_rate)
    sounding = target["rms"] >= 10 ** (SILENCE_DBFS / 20)
    errors = {}
    for name in FEATURE_UNITS:
        if name in _ABSOLUTE_ERROR_FEATURES:
            difference = np.abs(estimated[name][sounding] - target[name][sounding])
            errors[f"{name}_mae"] = float(difference.mean()) if sounding.any() else math.nan
        else:
            errors[f"{name}_mape"] = mean_absolute_percentage_error(estimated[name][sounding], target[name][sounding])
    return errors


# --- all together -----------------------------------------------------------------------------------


def score(estimate: np.ndarray, reference: np.ndarray, sample_rate: int) -> dict[str, float]:
    """Every metric of METRICS for one mix: {name: value}, in METRICS order (see MetricInfo for units).

    `estimate` and `reference` are [2, samples] float arrays at `sample_rate` Hz; ValueError naming
    both shapes when they differ or are not stereo.
    """
    _check_rate(sample_rate)
    estimate, reference = check_mixes(estimate, reference)
    values = {
        "stereo_stft": stereo_stft_distance(estimate, reference),
        HEADLINE_METRIC: loudness_matched_stereo_stft_distance(estimate, reference, sample_rate),
        "l1": l1_distance(estimate, reference),
        "si_sdr": si_sdr(estimate, reference),
        "loudness_error": loudness_error(estimate, reference, sample_rate),
        **feature_errors(estimate, reference, sample_rate),
        "crest_factor_error_db": abs(crest_factor_db(estimate) - crest_factor_db(reference)),
    }
    return {name: values[name] for name in METRICS}
