"""The per-block pieces of streamed mixing equal their whole-song forms, bit for bit, for any blocking."""

import numpy as np
import pytest
from drums import synthesize_drum_tracks
from scipy import signal
from scipy.ndimage import maximum_filter1d

from mixwave_hf.audio import DCFilter, Resampler, remove_dc, resample
from mixwave_hf.bleed import (
    EVENT_SPACING_S,
    EVENTS_PER_30_S,
    RISE_AFTER_S,
    RISE_BEFORE_S,
    RISE_DB,
    RISE_LOOKBACK_S,
    FramePowers,
    OnsetDetector,
    _frame_powers,
    _low_pass,
    frame_hop,
)
from mixwave_hf.limiter import PeakLimiter, limit_peaks
from mixwave_hf.loudness import BlockPowerMeter, block_powers


def random_blocks(length: int, seed: int):
    """Slices cutting 0 .. length into blocks of random sizes (1 sample to a third of it), some empty between."""
    rng = np.random.default_rng(seed)
    start = 0
    while start < length:
        size = int(rng.integers(1, max(2, length // 3)))
        yield slice(start, start + size)
        if rng.random() < 0.3:
            yield slice(start + size, start + size)  # no samples: a filter's state must carry over it
        start += size


@pytest.mark.parametrize("rate", [44_100, 48_000, 11_025])
@pytest.mark.parametrize("block_seconds,overlap", [(0.4, 0.75), (3.0, 2 / 3)])
@pytest.mark.parametrize("seconds", [0.0, 0.01, 0.39, 0.4, 2.99, 7.3])
def test_block_power_meter_equals_block_powers(rate, block_seconds, overlap, seconds):
    audio = (np.random.default_rng(1).standard_normal((2, int(seconds * rate))) * 0.1).astype(np.float32)
    meter = BlockPowerMeter(rate, block_seconds, overlap)
    for part in random_blocks(audio.shape[1], 2):
        meter.push(audio[:, part])
    expected = block_powers(audio, rate, block_seconds, overlap)
    assert meter.powers().shape == expected.shape
    np.testing.assert_array_equal(meter.powers(), expected)


def test_frame_powers_equal_those_of_the_whole_track():
    track = synthesize_drum_tracks(seconds=3.0, seed=2)["tom_1"]
    meter = FramePowers(44_100)
    pushed = [meter.push(track[part]) for part in random_blocks(len(track), 3)]
    whole, low = (np.concatenate([powers[band] for powers in pushed]) for band in (0, 1))
    hop = frame_hop(44_100)
    np.testing.assert_array_equal(whole, _frame_powers(track, hop))
    np.testing.assert_array_equal(low, _frame_powers(signal.sosfilt(_low_pass(44_100), track), hop))


def whole_song_onsets(track: np.ndarray, rate: int) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """`bleed.detected_onsets` written out over the whole track's frames at once (its definition)."""
    hop = frame_hop(rate)
    power = _frame_powers(track, hop)
    frames = len(power)
    if frames < 2:
        return np.zeros(0, np.int64), (np.zeros(0), np.zeros(0))
    envelope = 10 * np.log10(power + 1e-30)
    span, spacing = round(RISE_LOOKBACK_S * rate / hop), round(EVENT_SPACING_S * rate / hop)
    cumulative = np.concatenate([[0.0], np.cumsum(power)])
    first = np.maximum(np.arange(frames) - span, 0)
    preceding = (cumulative[np.arange(frames)] - cumulative[first]) / np.maximum(np.arange(frames) - first, 1)
    rise = envelope - 10 * np.log10(preceding + 1e-30)
    rise[0] = 0.0
    onsets = np.flatnonzero((rise == maximum_filter1d(rise, 2 * spacing + 1, mode="nearest")) & (rise > RISE_DB)
                            & (power > 0))
    peak = maximum_filter1d(envelope, span, origin=-((span - 1) // 2) - (span % 2 == 0), mode="nearest")[onsets]
    per_chunk = round(30.0 * rate / hop)
    chunks = np.searchsorted(onsets, np.arange(per_chunk, frames, per_chunk))
    onsets = np.sort(np.concatenate([part[np.argsort(-loudness, kind="stable")[:EVENTS_PER_30_S]] for part, loudness
                                     in zip(np.split(onsets, chunks), np.split(peak, chunks), strict=True)]))
    after, (begin, end) = round(RISE_AFTER_S * rate / hop), (round(s * rate / hop) for s in RISE_BEFORE_S)
    rises = []
    for band in (_frame_powers(signal.sosfilt(_low_pass(rate), track), hop), power):
        energy = np.concatenate([[0.0], np.cumsum(band)])
        edges = [np.clip(edge, 0, frames) for edge in (onsets, onsets + after, onsets - begin, onsets - end)]
        now, before = ((energy[b] - energy[a]) / np.maximum(b - a, 1) for a, b in (edges[:2], edges[2:]))
        rises.append(10 * np.log10((now + 1e-30) / (before + 1e-30)))
    return onsets * hop, (rises[0], rises[1])


@pytest.mark.parametrize("rate", [44_100, 48_000])
@pytest.mark.parametrize("seconds", [0.002, 1.0, 64.0])
def test_onset_detector_equals_the_whole_song_onsets_and_holds_30_s_of_frames(rate, seconds):
    """Over 30 s stretches of frames (a 64 s track crosses two edges): the onsets and their rises bit for bit."""
    drums = synthesize_drum_tracks(seconds=8.0, seed=4, sample_rate=rate)
    track = np.tile(drums["hihat"] + drums["snare"] + drums["kick"], 8)[: int(seconds * rate)]
    track = (track * np.repeat(np.linspace(0.2, 1.0, 64), -(-len(track) // 64))[: len(track)]).astype(np.float32)
    detector, held = OnsetDetector(rate), 0
    for part in random_blocks(len(track), 9):
        detector.push(track[part])
        held = max(held, len(detector.held[0]) - (part.stop - part.start) // frame_hop(rate))
    onsets, rises = detector.finish()
    expected_onsets, expected_rises = whole_song_onsets(track, rate)
    np.testing.assert_array_equal(onsets, expected_onsets)
    np.testing.assert_array_equal(rises[0], expected_rises[0])
    np.testing.assert_array_equal(rises[1], expected_rises[1])
    assert held <= detector.per_chunk + 2 * detector.margin + 2
    if seconds > 60:
        stretch = detector.per_chunk * frame_hop(rate)  # the first two 30 s hold more candidates than kept
        assert [np.count_nonzero(onsets // stretch == index) for index in (0, 1)] == [EVENTS_PER_30_S] * 2


@pytest.mark.parametrize("rates", [(48_000, 44_100), (44_100, 48_000), (22_050, 44_100), (44_100, 44_100)])
def test_resampler_equals_resample(rates):
    audio = np.random.default_rng(4).standard_normal((3, 100_003)).astype(np.float32)
    resampler = Resampler(*rates, channels=3)
    parts = [resampler.push(audio[:, part]) for part in random_blocks(audio.shape[1], 5)] + [resampler.finish()]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), resample(audio, *rates))


def test_dc_filter_equals_remove_dc():
    track = (np.random.default_rng(6).standard_normal(200_000) * 0.01 + 0.2).astype(np.float32)
    removed, offsets = remove_dc(track[None], 44_100)
    streamed, dc_filter = track.copy(), DCFilter(offsets[0], 44_100)
    for part in random_blocks(len(track), 7):
        dc_filter.apply(streamed[part])
    assert offsets[0] > 0.19
    np.testing.assert_array_equal(streamed, removed[0])


@pytest.mark.parametrize("block", [2**12, 2**20])
def test_peak_limiter_equals_limit_peaks_and_reports_the_same(block):
    rng = np.random.default_rng(0)
    audio = (rng.standard_normal((2, 70_000)) * 0.1).astype(np.float32)
    for peak in (0, 4_095, 4_097, 30_000, 69_999):  # at the ends and beside block edges
        audio[peak % 2, peak] = 2.5
    expected = audio.copy()
    count, reduction_db = limit_peaks(expected, 44_100, -1.0, block=block)
    limiter = PeakLimiter(44_100, -1.0, 2, block=block)
    parts = [limiter.push(audio[:, part]) for part in random_blocks(audio.shape[1], 8)] + [limiter.finish()]
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), expected)
    assert (limiter.limited, limiter.reduction_db) == (count, reduction_db) and count > 0
