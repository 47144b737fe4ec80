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

from mixwave_hf.bleed import own_strokes, stroke_regions

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
    a single block of its own length. An empty array gives no blocks.
    """
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float64))
    length = audio.shape[1]
    if length == 0:
        return np.zeros(0)
    weighted = audio
    for b, a, passband_gain in _k_weighting(sample_rate):
        weighted = passband_gain * signal.lfilter(b, a, weighted, axis=1)
    block_seconds = min(block_seconds, length / sample_rate)
    block = block_seconds * sample_rate
    step_seconds = block_seconds * (1 - overlap)
    blocks = int(np.round((length / sample_rate - block_seconds) / step_seconds)) + 1
    hop = block * (1 - overlap)
    hops_per_block = round(1 / (1 - overlap))
    if hop == int(hop) and abs(hops_per_block * (1 - overlap) - 1) < 1e-9:
        # Blocks are whole hops: sum squares per hop, then neighbouring hops (no song-sized cumsum).
        hop = int(hop)
        squares = weighted[:, : min(length, (blocks + hops_per_block - 1) * hop)] ** 2
        padded = np.zeros((audio.shape[0], (blocks + hops_per_block - 1) * hop))
        padded[:, : squares.shape[1]] = squares
        hops = padded.reshape(audio.shape[0], blocks + hops_per_block - 1, hop).sum(axis=2)
        return sum(hops[:, offset : offset + blocks] for offset in range(hops_per_block)).sum(axis=0) / block
    lower = (step_seconds * np.arange(blocks) * sample_rate).astype(int)
    upper = ((step_seconds * np.arange(blocks) + block_seconds) * sample_rate).astype(int)
    cumulative = np.concatenate([np.zeros((audio.shape[0], 1)), np.cumsum(weighted**2, axis=1)], axis=1)
    return ((cumulative[:, np.minimum(upper, length)] - cumulative[:, lower]) / block).sum(axis=0)


def _lufs(power: np.ndarray | float) -> np.ndarray | float:
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(power)


def integrated_loudness(audio: np.ndarray, sample_rate: int, block_seconds: float = 0.4) -> float:
    """BS.1770-4 integrated loudness (LUFS) of [samples] or [channels, samples] audio, as pyloudnorm.Meter.

    Clips shorter than one 0.4 s block (where LUFS is undefined) are measured as a single block of
    their own length (the K-weighted mean square). -inf for silence.
    """
    power = block_powers(audio, sample_rate, block_seconds)
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
    if method == "integrated":
        return integrated_loudness(track, sample_rate)
    if method == "loud_part":
        loudness = _lufs(block_powers(track, sample_rate, 3.0, overlap=2 / 3))
        loudness = loudness[loudness >= ABSOLUTE_GATE_LUFS]
        return float(np.percentile(loudness, LOUD_PART_PERCENTILE)) if loudness.size else float("-inf")
    if method in ("strokes", "close_strokes", "bleed_aware"):
        power = block_powers(track, sample_rate)
        if not power.size or _lufs(power.max()) < ABSOLUTE_GATE_LUFS:
            return float("-inf")
        strokes = power[power >= power.max() * 10 ** (-STROKE_GATE_DB / 10)]
        return float(_lufs(strokes.mean()))
    raise ValueError(f"levelling method {method!r}; expected one of {LEVELLING_METHODS}")


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
    if slot_names is not None and len(slot_names) != tracks.shape[0]:
        raise ValueError(f"{len(slot_names)} slot names for {tracks.shape[0]} tracks")
    per_slot = method in ("close_strokes", "bleed_aware")
    if per_slot and slot_names is None:
        raise ValueError(f"levelling {method!r} needs the tracks' slot names")
    peak = float(np.abs(tracks).max()) if tracks.size else 0.0
    raise_db = max(0.0, QUIET_SESSION_PEAK_DB - 20 * math.log10(peak)) if peak > 0 else 0.0
    if raise_db:  # a quiet session is measured as if it peaked at QUIET_SESSION_PEAK_DB: gates relative to it
        tracks, target_lufs = tracks * np.float32(10 ** (raise_db / 20)), target_lufs + raise_db
    close = [per_slot and not name.lower().startswith(KIT_PICTURE_PREFIXES) for name in slot_names or tracks[:, :0]]
    levels = np.array([track_level(track, sample_rate, "strokes" if is_close else "integrated" if per_slot else method)
                       for track, is_close in zip(tracks, close, strict=True)])
    levelling = Levelling(np.where(np.isfinite(levels), target_lufs - levels, 0.0), ("",) * len(tracks),
                          (np.zeros(0, np.int64),) * len(tracks))
    judged = [index for index, is_close in enumerate(close) if is_close and math.isfinite(levels[index])]
    return levelling if method != "bleed_aware" else _bleed_aware(tracks, sample_rate, target_lufs, slot_names,
                                                                   judged, levelling)


def _bleed_aware(tracks: np.ndarray, sample_rate: int, target_lufs: float, slot_names: Sequence[str],
                 judged: list[int], levelling: Levelling) -> Levelling:
    """`levelling` (by "close_strokes") with the close mics `judged` (indices) set by `bleed.own_strokes`."""
    gains_db, verdicts, onsets = levelling.gains_db.copy(), list(levelling.verdicts), list(levelling.stroke_onsets)
    window = int(round(STROKE_WINDOW_SECONDS * sample_rate))
    found = own_strokes(tracks[judged], sample_rate, [slot_names[index] for index in judged]) if judged else []
    for index, mic in zip(judged, found, strict=True):
        verdicts[index], onsets[index] = mic.verdict, mic.onsets
        if mic.verdict == "bleed_only":
            gains_db[index] -= BLEED_ONLY_DB
        elif mic.verdict == "played":
            level = integrated_loudness(tracks[index][stroke_regions(mic.onsets, tracks.shape[1], window)], sample_rate)
            gains_db[index] = target_lufs - level if math.isfinite(level) else gains_db[index]
    return Levelling(gains_db, tuple(verdicts), tuple(onsets))


def apply_gains_db(tracks: np.ndarray, gains_db: np.ndarray) -> np.ndarray:
    """[tracks, samples] float32 with track i scaled by gains_db[i] dB (a new array)."""
    return np.asarray(tracks, dtype=np.float32) * (10 ** (np.asarray(gains_db) / 20)).astype(np.float32)[:, None]
