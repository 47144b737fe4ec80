"""The mix's look-ahead peak limiter, on a whole song (`limit_peaks`) or block by block (`PeakLimiter`).

Both compute each block's gains with `block_gains` from the block and LIMITER_MARGIN-wide context on
both sides, at the same block starts, so the streamed limiter gives `limit_peaks`' result and report.

    limited, reduction_db = limit_peaks(mix, 44100, -1.0)   # [channels, samples], in place
"""

from __future__ import annotations

import math

import numpy as np

#: The limiter's look-ahead and release (s): a gain dip starts this long before a peak and ends as long after.
LIMITER_HOLD_SECONDS = 0.005
#: Samples per block of the limiter's gain computation (the streamed limiter holds one block and its context).
LIMITER_BLOCK = 2**20


def hold_samples(sample_rate: int) -> int:
    """LIMITER_HOLD_SECONDS in samples (at least 1): the span of the running minimum and mean on each side."""
    return max(1, int(round(LIMITER_HOLD_SECONDS * sample_rate)))


def block_gains(context: np.ndarray, offset: int, count: int, ceiling: float, hold: int) -> np.ndarray | None:
    """The gains [count] (float64, at most 1) of samples offset .. offset + count of `context` [channels, n]:
    the gain each sample needs (min over channels of ceiling / |x|, at most 1) held for `hold` samples on
    both sides (a running minimum), then smoothed by a running mean over the same span. `context` holds
    2·hold samples on each side of the block, less at the song's ends (which are repeated). None when no
    sample of `context` needs a gain below 1."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    needed = np.minimum(1.0, ceiling / np.maximum(np.abs(context).max(axis=0), 1e-30))
    if not needed.min() < 1.0:
        return None
    size = 2 * hold + 1
    smoothed = uniform_filter1d(minimum_filter1d(needed, size, mode="nearest"), size, mode="nearest")
    return smoothed[offset : offset + count]


def limit_peaks(audio: np.ndarray, sample_rate: int, ceiling_db: float,
                block: int = LIMITER_BLOCK) -> tuple[int, float]:
    """Turn the peaks of [channels, samples] audio above `ceiling_db` (dBFS) down, in place.

    A look-ahead peak limiter with a guaranteed ceiling (`block_gains`): the running mean never exceeds
    the gain any sample in its span needs. Samples far from a peak are untouched. Works in blocks; only
    blocks with a peak keep their gains. Returns (samples whose gain was lowered, the largest gain
    reduction in dB).
    """
    ceiling = 10 ** (ceiling_db / 20)
    hold = hold_samples(sample_rate)
    margin, length = 2 * hold, audio.shape[-1]
    gains_by_start = {}  # the gains first, kept only for blocks with a peak: the audio changes in place afterwards
    for start in range(0, length, block):
        lo, hi = max(0, start - margin), min(length, start + block + margin)
        gains = block_gains(audio[:, lo:hi], start - lo, min(block, length - start), ceiling, hold)
        if gains is not None:
            gains_by_start[start] = gains
    limited, least = 0, 1.0
    for start, gains in gains_by_start.items():
        audio[:, start : start + len(gains)] *= gains.astype(np.float32)
        limited += int(np.count_nonzero(gains < 1.0)) * audio.shape[0]
        least = min(least, float(gains.min()))
    np.clip(audio, -ceiling, ceiling, out=audio)  # float rounding only: the gains above already keep the ceiling
    return limited, -20 * math.log10(least)


class PeakLimiter:
    """`limit_peaks` over a stream: push [channels, n] blocks of any size, get the limited samples back.

    Holds one LIMITER_BLOCK of samples and 2·hold of context on each side (unlimited copies), and
    computes each block's gains as `limit_peaks` does, at the same block starts: the samples it returns
    and its `limited` / `reduction_db` equal `limit_peaks` on the whole song, bit for bit. Output lags the
    input by up to a block; `finish()` returns the rest.
    """

    def __init__(self, sample_rate: int, ceiling_db: float, channels: int, block: int = LIMITER_BLOCK) -> None:
        self.ceiling, self.hold, self.block = 10 ** (ceiling_db / 20), hold_samples(sample_rate), block
        self.pending = np.zeros((channels, 0), np.float32)  # the next block's start, and context on both sides
        self.before = 0  # samples of `pending` in front of the next block (its context; already returned)
        self.limited, self.least = 0, 1.0

    @property
    def reduction_db(self) -> float:
        """The largest gain reduction so far (dB, 0 when nothing was limited)."""
        return -20 * math.log10(self.least)

    def push(self, audio: np.ndarray) -> np.ndarray:
        """[channels, n] next samples -> [channels, m] next limited samples (m may be 0)."""
        self.pending = np.concatenate([self.pending, np.asarray(audio, np.float32)], axis=1)
        done = []
        while self.pending.shape[1] >= self.before + self.block + 2 * self.hold:
            done.append(self._limit_block(self.block))
        return np.concatenate(done, axis=1) if done else self.pending[:, :0].copy()

    def finish(self) -> np.ndarray:
        """The limited samples still held (the song's end: no context after it)."""
        done = []
        while self.pending.shape[1] > self.before:
            done.append(self._limit_block(min(self.block, self.pending.shape[1] - self.before)))
        return np.concatenate(done, axis=1) if done else self.pending[:, :0].copy()

    def _limit_block(self, count: int) -> np.ndarray:
        """Limit the next `count` samples, keep 2·hold of them (unlimited) as the next block's context."""
        end = min(self.pending.shape[1], self.before + count + 2 * self.hold)
        gains = block_gains(self.pending[:, :end], self.before, count, self.ceiling, self.hold)
        out = self.pending[:, self.before : self.before + count].copy()
        if gains is not None:
            out *= gains.astype(np.float32)
            self.limited += int(np.count_nonzero(gains < 1.0)) * out.shape[0]
            self.least = min(self.least, float(gains.min()))
        np.clip(out, -self.ceiling, self.ceiling, out=out)
        keep_from = max(0, self.before + count - 2 * self.hold)
        self.before = self.before + count - keep_from
        self.pending = self.pending[:, keep_from:].copy()
        return out


def peak_and_overs(audio: np.ndarray, block: int = 2**20) -> tuple[float, int]:
    """(largest magnitude, samples beyond full scale) of [channels, samples] audio, in blocks so that
    no temporary grows with the song."""
    peak, overs = 0.0, 0
    for start in range(0, audio.shape[-1], block):
        part = np.abs(audio[..., start : start + block])
        peak = max(peak, float(part.max()))
        overs += int(np.count_nonzero(part > 1.0))
    return peak, overs
