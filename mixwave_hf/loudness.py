"""Loudness (BS.1770, vectorised) and the levelling of tracks before the network, one function for all.

    levelled, gains_db = level_tracks(tracks, 44100, "bleed_aware", -30.0, slot_names)  # [tracks, samples]
    integrated_loudness(mix, 44100)  # LUFS

How each levelling method measures a track, and why: `track_level`, docs/training.md, README "Levelled inputs".
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import signal

from mixwave_hf.bleed import MicStrokes, own_strokes, stroke_regions

#: BS.1770 absolute gate (LUFS): blocks below it are silence; a track below it everywhere is not levelled.
ABSOLUTE_GATE_LUFS = -70.0
#: How `level_tracks` measures a track's level: see `track_level`.
LEVELLING_METHODS = ("integrated", "loud_part", "strokes", "close_strokes", "bleed_aware")
#: Slots whose names start so are pictures of the whole kit (overheads, rooms): "close_strokes" levels
#: them by integrated loudness, as engineers set them by the kit's overall sound, not by single hits.
KIT_PICTURE_PREFIXES = ("overhead", "room", "ambience")
#: `strokes`: momentary blocks within this many dB of the track's loudest block are its strokes.
STROKE_GATE_DB = 12.0
#: `loud_part`: this percentile of the track's short-term (3 s) loudness.
LOUD_PART_PERCENTILE = 95.0
#: `bleed_aware`: a close mic with no stroke of its own (its drum never struck) is levelled this far (dB)
#: under the target, as an engineer pulls such a track down; its played mics by their own strokes,
#: STROKE_WINDOW_SECONDS after each (as the synthetic engineer measures them).
BLEED_ONLY_DB = 30.0
STROKE_WINDOW_SECONDS = 0.4
#: A session whose loudest track peaks below this (dBFS) is measured as if raised to it: the -70 LUFS
#: gate then stands relative to the session, so a take recorded 40 dB low is levelled as a normal one.
QUIET_SESSION_PEAK_DB = -1.0


@functools.lru_cache(maxsize=8)
def _k_weighting(sample_rate: int) -> list[tuple[np.ndarray, np.ndarray, float]]:
    # pyloudnorm's BS.1770 K-weighting stages (its Meter loops over blocks in Python; this one is vectorised).
    import pyloudnorm

    stages = [pyloudnorm.IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, sample_rate, "high_shelf"),
              pyloudnorm.IIRfilter(0.0, 0.5, 38.0, sample_rate, "high_pass")]
    return [(stage.b, stage.a, stage.passband_gain) for stage in stages]


def block_powers(audio: np.ndarray, sample_rate: int, block_seconds: float = 0.4,
                 overlap: float = 0.75) -> np.ndarray:
    """K-weighted mean square of each block, summed over channels: [blocks] float64.

    `audio` is [samples] or [channels, samples]; blocks of `block_seconds` start every
    block_seconds·(1 - overlap) (BS.1770: 0.4 s, 75%). Audio shorter than one block is measured as
    a single block of its own length. An empty array gives no blocks. (`BlockPowerMeter` given it all at once.)
    """
    meter = BlockPowerMeter(sample_rate, block_seconds, overlap)
    meter.push(audio)
    return meter.powers()


class BlockPowerMeter:
    """`block_powers` over a stream: push [samples] or [channels, samples] blocks of any size, then `powers()`
    equals `block_powers` of everything pushed, bit for bit.

    Holds the K-weighting filters' state, the song's first block (K-weighted: a song shorter than a block is
    measured as one block of its own length), the sums of squares per hop (blocks of whole hops) or the
    running sum of squares at each block's edges (other blocks): a few floats per block, 2.5 per second, in arrays
    that double when full (`GrowingColumns`), not one small array per push.
    """

    def __init__(self, sample_rate: int, block_seconds: float = 0.4, overlap: float = 0.75) -> None:
        self.sample_rate, self.block_seconds, self.overlap = sample_rate, block_seconds, overlap
        self.length, self.states = 0, None
        self.head: list[np.ndarray] = []  # K-weighted samples of the first block
        self.hops_per_block = round(1 / (1 - overlap))
        hop = block_seconds * sample_rate * (1 - overlap)
        whole_hops = hop == int(hop) and abs(self.hops_per_block * (1 - overlap) - 1) < 1e-9
        self.hop = int(hop) if whole_hops else None
        self.remainder: np.ndarray | None = None  # K-weighted samples after the last whole hop
        self.hop_sums = GrowingColumns()  # [channels, hops] sums of squares
        self.carry: np.ndarray | None = None  # [channels] running sum of squares
        self.next_edge = [0, 0]  # the next block whose lower / upper edge is to be passed
        self.edge_sums = (GrowingColumns(), GrowingColumns())  # [channels, edges] running sums at lower / upper edges

    def push(self, audio: np.ndarray) -> None:
        """Measure the next [samples] or [channels, samples] of the stream (the same channels each time)."""
        weighted = np.atleast_2d(np.asarray(audio, dtype=np.float64))
        if not weighted.shape[1]:
            return  # lfilter would return zeroed states for no samples
        if self.states is None:
            self.states = [np.zeros((weighted.shape[0], max(len(a), len(b)) - 1))
                           for b, a, _ in _k_weighting(self.sample_rate)]
        for index, (b, a, passband_gain) in enumerate(_k_weighting(self.sample_rate)):
            filtered, self.states[index] = signal.lfilter(b, a, weighted, axis=1, zi=self.states[index])
            weighted = passband_gain * filtered
        held = sum(part.shape[1] for part in self.head)
        if held < self.block_seconds * self.sample_rate:
            self.head.append(weighted[:, : int(math.ceil(self.block_seconds * self.sample_rate)) - held + 1].copy())
        self._accumulate(weighted)
        self.length += weighted.shape[1]

    def _accumulate(self, weighted: np.ndarray) -> None:
        """Add [channels, n] K-weighted samples (after `self.length` of them) to the block sums."""
        if self.hop is not None:
            self._add_hops(weighted)
        else:
            self._add_edges(weighted)

    def _add_hops(self, weighted: np.ndarray) -> None:
        """Sums of squares of the whole hops now complete, as `_powers_of_weighted` forms them."""
        if self.remainder is not None:
            weighted = np.concatenate([self.remainder, weighted], axis=1)
        complete = weighted.shape[1] // self.hop * self.hop
        if complete:
            squares = weighted[:, :complete] ** 2
            self.hop_sums.append(squares.reshape(weighted.shape[0], -1, self.hop).sum(axis=2))
        self.remainder = weighted[:, complete:].copy()

    def _add_edges(self, weighted: np.ndarray) -> None:
        """The running sum of squares (one sequential sum, as `_powers_of_weighted`'s) at the block edges passed."""
        carry = np.zeros(weighted.shape[0]) if self.carry is None else self.carry
        running = np.cumsum(np.concatenate([carry[:, None], weighted**2], axis=1), axis=1)  # from index self.length
        end = self.length + weighted.shape[1]
        for side in (0, 1):
            while True:
                edges = self._edges(side, np.arange(self.next_edge[side], self.next_edge[side] + 64))
                passed = edges[edges <= end]
                self.edge_sums[side].append(running[:, passed - self.length])
                self.next_edge[side] += len(passed)
                if len(passed) < len(edges):
                    break
        self.carry = running[:, -1].copy()

    def _edges(self, side: int, blocks: np.ndarray) -> np.ndarray:
        """The first (side 0) or last (side 1) sample index of `blocks`, as `_powers_of_weighted` computes them."""
        step_seconds = self.block_seconds * (1 - self.overlap)
        start = step_seconds * blocks
        return ((start if side == 0 else start + self.block_seconds) * self.sample_rate).astype(int)

    def powers(self) -> np.ndarray:
        """[blocks] float64: the K-weighted mean square of each block of everything pushed (see `block_powers`)."""
        length, rate, block_seconds = self.length, self.sample_rate, self.block_seconds
        if length == 0:
            return np.zeros(0)
        if length / rate < block_seconds:
            return _powers_of_weighted(np.concatenate(self.head, axis=1)[:, :length], rate, block_seconds,
                                       self.overlap)
        step_seconds = block_seconds * (1 - self.overlap)
        blocks = int(np.round((length / rate - block_seconds) / step_seconds)) + 1
        block = block_seconds * rate
        if self.hop is not None:
            hops = self.hop_sums.array()
            if self.remainder.shape[1]:
                hops = np.concatenate([hops, _hop_sums(self.remainder, self.hop)], axis=1)
            return _combined_hops(hops, blocks, self.hops_per_block, block)
        lower, upper = (np.concatenate([sums.array()[:, :blocks], np.repeat(self.carry[:, None],
                                                                            max(0, blocks - sums.count), axis=1)],
                                       axis=1)
                        for sums in self.edge_sums)
        return ((upper - lower) / block).sum(axis=0)


class GrowingColumns:
    """[rows, n] float64 columns appended block by block into one array that doubles when full: a long song's
    thousands of appends make a few allocations, not thousands of small long-lived arrays between the blocks'
    large short-lived ones (which fragment the heap, so that a process's memory grows with the song)."""

    def __init__(self) -> None:
        self.data: np.ndarray | None = None
        self.count = 0

    def append(self, columns: np.ndarray) -> None:
        """Add [rows, k] columns (the same rows each time)."""
        needed = self.count + columns.shape[1]
        if self.data is None or needed > self.data.shape[1]:
            grown = np.empty((columns.shape[0], max(64, needed, 2 * (0 if self.data is None else self.data.shape[1]))))
            if self.data is not None:
                grown[:, : self.count] = self.data[:, : self.count]
            self.data = grown
        self.data[:, self.count : needed] = columns
        self.count = needed

    def array(self) -> np.ndarray:
        """[rows, n] every column appended (a view); [0, 0] before the first."""
        return np.zeros((0, 0)) if self.data is None else self.data[:, : self.count]


def _hop_sums(weighted: np.ndarray, hop: int) -> np.ndarray:
    """[channels, 1]: the sum of squares of a last, partial hop of K-weighted samples, padded with zeros."""
    padded = np.zeros((weighted.shape[0], hop))
    padded[:, : weighted.shape[1]] = weighted**2
    return padded.reshape(weighted.shape[0], 1, hop).sum(axis=2)


def _combined_hops(hops: np.ndarray, blocks: int, hops_per_block: int, block: float) -> np.ndarray:
    """[blocks] mean squares from [channels, hops] sums of squares: each block sums `hops_per_block` hops."""
    needed = blocks + hops_per_block - 1
    if hops.shape[1] < needed:
        hops = np.concatenate([hops, np.zeros((hops.shape[0], needed - hops.shape[1]))], axis=1)
    return sum(hops[:, offset : offset + blocks] for offset in range(hops_per_block)).sum(axis=0) / block


def _powers_of_weighted(weighted: np.ndarray, sample_rate: int, block_seconds: float, overlap: float) -> np.ndarray:
    """`block_powers` of [channels, samples] K-weighted audio held whole (a song shorter than one block)."""
    meter = BlockPowerMeter(sample_rate, min(block_seconds, weighted.shape[1] / sample_rate), overlap)
    meter.head = [weighted]
    meter._accumulate(weighted)
    meter.length = weighted.shape[1]
    return meter.powers()


def _lufs(power: np.ndarray | float) -> np.ndarray | float:
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(power)


def integrated_loudness(audio: np.ndarray, sample_rate: int, block_seconds: float = 0.4) -> float:
    """BS.1770-4 integrated loudness (LUFS) of [samples] or [channels, samples] audio, as pyloudnorm.Meter.

    Clips shorter than one 0.4 s block (where LUFS is undefined) are measured as a single block of
    their own length (the K-weighted mean square). -inf for silence.
    """
    return gated_loudness(block_powers(audio, sample_rate, block_seconds))


def gated_loudness(power: np.ndarray) -> float:
    """BS.1770-4 integrated loudness (LUFS) from the [blocks] K-weighted powers of 0.4 s blocks (`block_powers`,
    `BlockPowerMeter`): the absolute and relative gates, then the mean; -inf for silence."""
    loudness = _lufs(power)
    above_absolute = loudness >= ABSOLUTE_GATE_LUFS
    if not above_absolute.any():
        return float("-inf")
    relative_gate = _lufs(power[above_absolute].mean()) - 10.0
    gated = (loudness > relative_gate) & above_absolute
    return float(_lufs(power[gated].mean()))


def crest_factor_db(mix: np.ndarray) -> float:
    """Peak over RMS (dB) of a [channels, samples] mix's mono sum, the whole of it; nan for silence."""
    mono = np.asarray(mix, dtype=np.float64).mean(axis=0)
    rms = math.sqrt(float(np.mean(mono**2))) if mono.size else 0.0
    return 20 * math.log10(float(np.abs(mono).max()) / rms) if rms > 0 else math.nan


def track_level(track: np.ndarray, sample_rate: int, method: str = "strokes") -> float:
    """The level (LUFS) a fader is set by, of one [samples] track; -inf below the -70 LUFS gate.

    - "integrated": BS.1770 integrated loudness of the whole track.
    - "loud_part": the LOUD_PART_PERCENTILE-th percentile of its short-term loudness (3 s blocks,
      every 1 s) above the gate.
    - "strokes": the mean power of its momentary blocks (0.4 s, every 0.1 s) within STROKE_GATE_DB
      of its loudest one, i.e. of the track's own strokes. A tom mic that is mostly bleed between a
      few fills is set by the fills, not raised by ~25 dB to bring its bleed up to the kick.
    - "close_strokes": per slot, in `level_tracks`: close mics by "strokes", kit pictures
      (overheads, rooms: KIT_PICTURE_PREFIXES) by "integrated"; for one track it is "strokes".
    - "bleed_aware": as "close_strokes", but the close mics are compared (`bleed.own_strokes`): a played one is
      measured on its own strokes, a tom holding only bleed set BLEED_ONLY_DB under; for one track, "strokes".
    """
    if method not in LEVELLING_METHODS:
        raise ValueError(f"levelling method {method!r}; expected one of {LEVELLING_METHODS}")
    measure = "strokes" if method in ("close_strokes", "bleed_aware") else method
    return level_from_powers(block_powers(track, sample_rate, *MEASURE_BLOCKS[measure]), measure)


#: The blocks (seconds, overlap) each of `track_level`'s measures takes the K-weighted powers of.
MEASURE_BLOCKS = {"integrated": (0.4, 0.75), "strokes": (0.4, 0.75), "loud_part": (3.0, 2 / 3)}


def level_from_powers(power: np.ndarray, measure: str) -> float:
    """A track's level (LUFS) by `measure` ("integrated", "loud_part" or "strokes": see `track_level`) from its
    [blocks] K-weighted powers over MEASURE_BLOCKS[measure]."""
    if measure == "integrated":
        return gated_loudness(power)
    if measure == "loud_part":
        loudness = _lufs(power)
        loudness = loudness[loudness >= ABSOLUTE_GATE_LUFS]
        return float(np.percentile(loudness, LOUD_PART_PERCENTILE)) if loudness.size else float("-inf")
    if not power.size or _lufs(power.max()) < ABSOLUTE_GATE_LUFS:
        return float("-inf")
    strokes = power[power >= power.max() * 10 ** (-STROKE_GATE_DB / 10)]
    return float(_lufs(strokes.mean()))


@dataclass(frozen=True)
class Levelling:
    """What `measure_levelling` found: `gains_db` [tracks] (dB; 0 for silent tracks); per track, `verdicts`
    ("played", "bleed_only", "unsure": `bleed.MicStrokes`; "" unless a close mic levelled "bleed_aware")
    and `stroke_onsets` (samples; a played mic's own strokes)."""

    gains_db: np.ndarray
    verdicts: tuple[str, ...]
    stroke_onsets: tuple[np.ndarray, ...]


def level_tracks(tracks: np.ndarray, sample_rate: int, method: str, target_lufs: float,
                 slot_names: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bring each track of [tracks, samples] audio to `target_lufs` by `track_level(method)`.

    `slot_names` (one per track) lets "close_strokes" and "bleed_aware" tell kit pictures (overheads,
    rooms) from close mics. Returns (levelled [tracks, samples] float32, the gains applied in dB [tracks]).
    A track below the -70 LUFS gate (silence, a bare noise floor) keeps its level (gain 0 dB); in a
    session quieter than QUIET_SESSION_PEAK_DB the gate is relative to its loudest peak. The one
    levelling of the package: mixing (through `measure_levelling`, for the verdicts), the training loader,
    baselines and the demo call it, so a model sees its inputs at the level it was trained with.
    """
    levelling = measure_levelling(tracks, sample_rate, method, target_lufs, slot_names)
    return apply_gains_db(tracks, levelling.gains_db), levelling.gains_db


def measure_levelling(tracks: np.ndarray, sample_rate: int, method: str, target_lufs: float,
                      slot_names: Sequence[str] | None = None) -> Levelling:
    """The gains (and, for "bleed_aware", the verdicts) with which `level_tracks` levels [tracks, samples] audio."""
    tracks = np.asarray(tracks, dtype=np.float32)
    if tracks.ndim != 2:
        raise ValueError(f"tracks of shape {tracks.shape}; expected [tracks, samples]")
    raise_db = quiet_session_raise_db(float(np.abs(tracks).max()) if tracks.size else 0.0)
    if raise_db:  # a quiet session is measured as if it peaked at QUIET_SESSION_PEAK_DB: gates relative to it
        tracks, target_lufs = tracks * np.float32(10 ** (raise_db / 20)), target_lufs + raise_db
    measures, close = track_measures(method, slot_names, tracks.shape[0])
    levels = np.array([level_from_powers(block_powers(track, sample_rate, *MEASURE_BLOCKS[measure]), measure)
                       for track, measure in zip(tracks, measures, strict=True)])
    levelling = levelling_of_levels(levels, target_lufs)
    if method != "bleed_aware":
        return levelling
    judged = judged_mics(close, levels)
    found = own_strokes(tracks[judged], sample_rate, [slot_names[index] for index in judged]) if judged else []
    window = int(round(STROKE_WINDOW_SECONDS * sample_rate))
    stroke_levels = [integrated_loudness(tracks[index][stroke_regions(mic.onsets, tracks.shape[1], window)],
                                         sample_rate) if mic.verdict == "played" else math.nan
                     for index, mic in zip(judged, found, strict=True)]
    return with_verdicts(levelling, judged, found, stroke_levels, target_lufs)


def track_measures(method: str, slot_names: Sequence[str] | None, count: int) -> tuple[list[str], list[bool]]:
    """For `count` tracks levelled by `method`: (each track's measure, a key of MEASURE_BLOCKS; whether it is a
    close mic that "close_strokes" / "bleed_aware" set by its strokes). ValueError for an unknown method, or
    slot names missing or not one per track."""
    if method not in LEVELLING_METHODS:
        raise ValueError(f"levelling method {method!r}; expected one of {LEVELLING_METHODS}")
    if slot_names is not None and len(slot_names) != count:
        raise ValueError(f"{len(slot_names)} slot names for {count} tracks")
    per_slot = method in ("close_strokes", "bleed_aware")
    if not per_slot:
        return [method] * count, [False] * count
    if slot_names is None:
        raise ValueError(f"levelling {method!r} needs the tracks' slot names")
    close = [not name.lower().startswith(KIT_PICTURE_PREFIXES) for name in slot_names]
    return ["strokes" if is_close else "integrated" for is_close in close], close


def quiet_session_raise_db(peak: float) -> float:
    """The dB by which a session whose loudest sample is `peak` (linear) is measured raised: up to
    QUIET_SESSION_PEAK_DB, 0 for a session at or above it (or silent)."""
    return max(0.0, QUIET_SESSION_PEAK_DB - 20 * math.log10(peak)) if peak > 0 else 0.0


def levelling_of_levels(levels: np.ndarray, target_lufs: float) -> Levelling:
    """The gains (dB) that bring tracks at `levels` [tracks] (LUFS) to `target_lufs`; 0 for -inf (silent) tracks."""
    return Levelling(np.where(np.isfinite(levels), target_lufs - levels, 0.0), ("",) * len(levels),
                     (np.zeros(0, np.int64),) * len(levels))


def judged_mics(close: Sequence[bool], levels: np.ndarray) -> list[int]:
    """Indices of the close mics "bleed_aware" compares: those above the gate (`levels` finite)."""
    return [index for index, is_close in enumerate(close) if is_close and math.isfinite(levels[index])]


def with_verdicts(levelling: Levelling, judged: list[int], found: Sequence[MicStrokes], stroke_levels: Sequence[float],
                  target_lufs: float) -> Levelling:
    """`levelling` (by "close_strokes") with the close mics `judged` (indices) set by their verdicts `found`
    (`bleed.own_strokes`): a bleed-only mic BLEED_ONLY_DB under, a played one by `stroke_levels` (LUFS of its
    own strokes' STROKE_WINDOW_SECONDS; nan for mics not played)."""
    gains_db, verdicts, onsets = levelling.gains_db.copy(), list(levelling.verdicts), list(levelling.stroke_onsets)
    for index, mic, level in zip(judged, found, stroke_levels, strict=True):
        verdicts[index], onsets[index] = mic.verdict, mic.onsets
        if mic.verdict == "bleed_only":
            gains_db[index] -= BLEED_ONLY_DB
        elif mic.verdict == "played" and math.isfinite(level):
            gains_db[index] = target_lufs - level
    return Levelling(gains_db, tuple(verdicts), tuple(onsets))


def apply_gains_db(tracks: np.ndarray, gains_db: np.ndarray) -> np.ndarray:
    """[tracks, samples] float32 with track i scaled by gains_db[i] dB (a new array)."""
    return np.asarray(tracks, dtype=np.float32) * (10 ** (np.asarray(gains_db) / 20)).astype(np.float32)[:, None]
