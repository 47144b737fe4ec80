"""Reading, writing and resampling audio (soundfile, soxr). Arrays are [channels, samples] float32."""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import soundfile
import soxr
from scipy import signal

#: File extensions treated as audio when a folder is scanned (all are read by libsndfile).
AUDIO_EXTENSIONS = (".wav", ".flac", ".aif", ".aiff", ".aifc", ".ogg", ".oga", ".opus", ".mp3", ".w64", ".caf")
#: Output encodings: WAV subtype by name.
OUTPUT_FORMATS = {"float": "FLOAT", "pcm24": "PCM_24", "pcm16": "PCM_16"}


class AudioError(ValueError):
    """An audio file or array that cannot be used; the message names it and what would be accepted."""


def is_audio_file(path: str | Path) -> bool:
    """True if the file name has one of AUDIO_EXTENSIONS (the content is not checked)."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a file as ([channels, samples] float32, sample rate in Hz).

    Raises AudioError naming the file when it is missing, not audio libsndfile can decode, or holds
    NaN/inf samples.
    """
    path = Path(path)
    try:
        samples, sample_rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
        raise AudioError(
            f"{path}: cannot be read as audio ({error}); expected a WAV, FLAC, AIFF, OGG or MP3 file"
        ) from error
    audio = np.ascontiguousarray(samples.T)
    check_finite(audio, str(path))
    return audio, int(sample_rate)


def check_finite(audio: np.ndarray, name: str) -> None:
    """AudioError naming `name` if `audio` holds NaN or infinite samples."""
    if audio.size and not np.isfinite(audio).all():
        bad = int(np.count_nonzero(~np.isfinite(audio)))
        raise AudioError(f"{name}: {bad} NaN or infinite samples; expected finite audio")


def write_audio(path: str | Path, audio: np.ndarray, sample_rate: int, output_format: str = "float") -> None:
    """Write [channels, samples] audio as a WAV/FLAC file; output_format is a key of OUTPUT_FORMATS.

    Samples are written as they are: nothing is normalised (integer formats clip at full scale).
    """
    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f"output format {output_format!r}; expected one of {list(OUTPUT_FORMATS)}")
    path = Path(path)
    subtype = OUTPUT_FORMATS[output_format]
    if path.suffix.lower() == ".flac" and subtype == "FLOAT":
        raise ValueError(f"{path}: FLAC cannot hold float samples; use a .wav name or --format pcm24")
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.asarray(audio, dtype=np.float32).T, sample_rate, subtype=subtype)


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """[channels, samples] at from_rate -> [channels, round(samples·to_rate/from_rate)] at to_rate (soxr HQ)."""
    if from_rate == to_rate or audio.shape[-1] == 0:
        return audio
    resampled = soxr.resample(audio.T, from_rate, to_rate, quality="HQ")
    return np.ascontiguousarray(resampled.T, dtype=np.float32)


def read_tracks(paths: Mapping[str, str | Path], sample_rate: int | None = None
                ) -> tuple[dict[str, np.ndarray], int, list[str]]:
    """Read files by name (e.g. slot) and bring them to one rate.

    Returns ({name: [channels, samples] float32}, rate in Hz, warnings). The rate is `sample_rate`,
    else the most common rate of the files (the highest on a tie); other files are resampled.
    Raises AudioError naming a file that cannot be read.
    """
    audio_by_name = {name: read_audio(path) for name, path in paths.items()}
    rates = Counter(rate for _, rate in audio_by_name.values())
    if sample_rate is None:
        sample_rate = max(rates, key=lambda rate: (rates[rate], rate)) if rates else 44_100
    warnings = []
    if len(rates) > 1:
        warnings.append(f"files at different sample rates ({', '.join(f'{rate} Hz' for rate in sorted(rates))}): "
                        f"each resampled to {sample_rate} Hz")
    tracks = {name: resample(audio, rate, sample_rate) for name, (audio, rate) in audio_by_name.items()}
    return tracks, sample_rate, warnings


# ---- loudness (BS.1770) and track levelling ---------------------------------------------------------

#: BS.1770 absolute gate (LUFS): blocks below it are silence; a track below it everywhere is not levelled.
ABSOLUTE_GATE_LUFS = -70.0
#: How `level_tracks` measures a track's level: see `track_level`.
LEVELLING_METHODS = ("integrated", "loud_part", "strokes", "close_strokes")
#: Slots whose names start so are pictures of the whole kit (overheads, rooms): "close_strokes" levels
#: them by integrated loudness, as engineers set them by the kit's overall sound, not by single hits.
KIT_PICTURE_PREFIXES = ("overhead", "room", "ambience")
#: `strokes`: momentary blocks within this many dB of the track's loudest block are its strokes.
STROKE_GATE_DB = 12.0
#: `loud_part`: this percentile of the track's short-term (3 s) loudness.
LOUD_PART_PERCENTILE = 95.0


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
    """
    if method == "integrated":
        return integrated_loudness(track, sample_rate)
    if method == "loud_part":
        loudness = _lufs(block_powers(track, sample_rate, 3.0, overlap=2 / 3))
        loudness = loudness[loudness >= ABSOLUTE_GATE_LUFS]
        return float(np.percentile(loudness, LOUD_PART_PERCENTILE)) if loudness.size else float("-inf")
    if method in ("strokes", "close_strokes"):
        power = block_powers(track, sample_rate)
        if not power.size or _lufs(power.max()) < ABSOLUTE_GATE_LUFS:
            return float("-inf")
        strokes = power[power >= power.max() * 10 ** (-STROKE_GATE_DB / 10)]
        return float(_lufs(strokes.mean()))
    raise ValueError(f"levelling method {method!r}; expected one of {LEVELLING_METHODS}")


def level_tracks(tracks: np.ndarray, sample_rate: int, method: str, target_lufs: float,
                 slot_names: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bring each track of [tracks, samples] audio to `target_lufs` by `track_level(method)`.

    `slot_names` (one per track) lets "close_strokes" tell kit pictures (overheads, rooms) from close mics.
    Returns (levelled [tracks, samples] float32, the gains applied in dB [tracks]). A track below the
    -70 LUFS gate (silence, a bare noise floor) keeps its level (gain 0 dB): silent stays silent.
    The one levelling function of the package: mixing, the training loader, baselines and the demo
    all call it, so a model sees its inputs at the level it was trained with.
    """
    tracks = np.asarray(tracks, dtype=np.float32)
    if tracks.ndim != 2:
        raise ValueError(f"tracks of shape {tracks.shape}; expected [tracks, samples]")
    if slot_names is not None and len(slot_names) != tracks.shape[0]:
        raise ValueError(f"{len(slot_names)} slot names for {tracks.shape[0]} tracks")
    gains_db = np.zeros(tracks.shape[0])
    for index, track in enumerate(tracks):
        track_method = method
        if method == "close_strokes":
            if slot_names is None:
                raise ValueError("levelling 'close_strokes' needs the tracks' slot names")
            picture = slot_names[index].lower().startswith(KIT_PICTURE_PREFIXES)
            track_method = "integrated" if picture else "strokes"
        level = track_level(track, sample_rate, track_method)
        if math.isfinite(level):
            gains_db[index] = target_lufs - level
    levelled = tracks * (10 ** (gains_db / 20)).astype(np.float32)[:, None]
    return levelled, gains_db


def pan_gains(pan: float, law: str = "constant_power") -> tuple[float, float]:
    """(left, right) gains of a mono track at `pan` (-1 hard left .. +1 hard right).

    "equal_gain": a balance control: 1 to both sides at the centre, the far side turned down
    linearly (pan -1 -> (1, 0)). "constant_power": sin/cos, -3 dB to each side at the centre, so a
    track keeps its power wherever it is panned.
    """
    if not -1.0 <= pan <= 1.0:
        raise ValueError(f"pan={pan}; expected -1 (hard left) to 1 (hard right)")
    if law == "equal_gain":
        return min(1.0, 1.0 - pan), min(1.0, 1.0 + pan)
    if law == "constant_power":
        angle = (pan + 1.0) * math.pi / 4
        return math.cos(angle), math.sin(angle)
    raise ValueError(f"pan law {law!r}; expected one of {PAN_LAWS}")


PAN_LAWS = ("equal_gain", "constant_power")
