"""The per-block pieces of streamed mixing equal their whole-song forms, bit for bit, for any blocking."""

import numpy as np
import pytest
from drums import synthesize_drum_tracks
from scipy import signal

from mixwave_hf.audio import DCFilter, Resampler, remove_dc, resample
from mixwave_hf.bleed import FramePowers, _frame_powers, _low_pass, frame_hop
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
    for part in random_blocks(len(track), 3):
        meter.push(track[part])
    whole, low = meter.result()
    hop = frame_hop(44_100)
    np.testing.assert_array_equal(whole, _frame_powers(track, hop))
    np.testing.assert_array_equal(low, _frame_powers(signal.sosfilt(_low_pass(44_100), track), hop))


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
