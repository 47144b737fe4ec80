"""Reading, writing and resampling audio (soundfile, soxr); loudness and levelling: loudness.py. Arrays are
[channels, samples] float32.

    audio, rate = read_audio("kick.wav")              # [channels, samples] float32, Hz
    write_audio("kick-48k.wav", resample(audio, rate, 48000), 48000, "pcm24")
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import soundfile
import soxr
from scipy import signal

from mixwave_hf.errors import MixwaveError
from mixwave_hf.files import path_problem

#: File extensions treated as audio when a folder is scanned (all are read by libsndfile).
AUDIO_EXTENSIONS = (".wav", ".flac", ".aif", ".aiff", ".aifc", ".ogg", ".oga", ".opus", ".mp3", ".w64", ".caf")
#: Sample rates (Hz) a file may have, and a mix be written at: the telephone band to the highest studio rate.
#: A header outside them is damaged (a 4 s file whose header says 1 Hz would be a 49-hour song).
SAMPLE_RATE_RANGE = (8_000, 384_000)
#: Output encodings: WAV subtype by name.
OUTPUT_FORMATS = {"float": "FLOAT", "pcm24": "PCM_24", "pcm16": "PCM_16"}
#: Output file types by extension (libsndfile's major format); FLAC holds only the PCM formats.
OUTPUT_CONTAINERS = {".wav": "WAV", ".flac": "FLAC", ".aiff": "AIFF", ".aif": "AIFF", ".w64": "W64", ".caf": "CAF"}
#: `remove_dc`: tracks whose mean exceeds this (of full scale, -60 dBFS) and DC_RELATIVE_THRESHOLD of
#: their peak are high-passed at DC_CUTOFF_HZ. The relative bound keeps the decision independent of
#: the track's level: the strokes of a loud, close-miked drum can average a little off zero (0.3% of
#: their peak in a run of decaying sines), a DC offset that matters is a sizeable part of the peak.
DC_THRESHOLD = 1e-3
DC_RELATIVE_THRESHOLD = 0.02
#: `remove_dc`: the high-pass corner (Hz), well below a kick's fundamental (40-60 Hz), as a console's.
DC_CUTOFF_HZ = 10.0


class AudioError(MixwaveError, ValueError):
    """An audio file or array that cannot be used; the message names it and what would be accepted."""


def is_audio_file(path: str | Path) -> bool:
    """True if the file name has one of AUDIO_EXTENSIONS (the content is not checked)."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a file as ([channels, samples] float32, sample rate in Hz).

    Raises AudioError naming the file when it is missing, no regular file (a broken link, a FIFO, a
    device: `files.path_problem`, checked before opening), not readable (permission denied), not audio
    libsndfile can decode, holds NaN/inf samples, or gives a rate outside SAMPLE_RATE_RANGE in its header.
    """
    path = Path(path)
    check_readable(path)
    try:
        samples, sample_rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
        raise unreadable(path, error) from error
    check_sample_rate(path, sample_rate)
    audio = np.ascontiguousarray(samples.T)
    check_finite(audio, str(path))
    return audio, int(sample_rate)


def check_readable(path: Path) -> None:
    """AudioError naming `path` when it is no regular file that can be read (`files.path_problem`)."""
    problem = path_problem(path)
    if problem:
        raise AudioError(f"{path}: {problem}; expected an audio file")


def unreadable(path: Path, error: Exception) -> AudioError:
    """The AudioError for a file libsndfile fails to open or decode (`error`), saying whether its header reads as
    audio (then the file is probably truncated or damaged)."""
    try:
        header_frames = soundfile.info(path).frames
    except (soundfile.LibsndfileError, RuntimeError, OSError):
        header_frames = 0
    hint = ("its header reads as audio, so the file is probably truncated or damaged" if header_frames > 0
            else "expected a WAV, FLAC, AIFF, OGG or MP3 file")
    return AudioError(f"{path}: cannot be read as audio ({error}); {hint}")


def check_sample_rate(path: Path, sample_rate: int) -> None:
    """AudioError naming `path` when its header's rate is outside SAMPLE_RATE_RANGE (a damaged header)."""
    low, high = SAMPLE_RATE_RANGE
    if not low <= sample_rate <= high:
        raise AudioError(f"{path}: {sample_rate} Hz in its header; expected {low}-{high} Hz: the header is probably "
                         "damaged (re-export the file at its real rate)")


def check_finite(audio: np.ndarray, name: str) -> None:
    """AudioError naming `name` if `audio` holds NaN or infinite samples."""
    if audio.size and not np.isfinite(audio).all():
        raise nonfinite_error(name, int(np.count_nonzero(~np.isfinite(audio))))


def nonfinite_error(name: str, count: int) -> AudioError:
    """The AudioError for `count` NaN or infinite samples in `name`."""
    return AudioError(f"{name}: {count} NaN or infinite samples; expected finite audio")


def write_audio(path: str | Path, audio: np.ndarray, sample_rate: int, output_format: str = "float") -> None:
    """Write [channels, samples] audio as a WAV/FLAC/AIFF/W64/CAF file (by its extension, OUTPUT_CONTAINERS);
    output_format is a key of OUTPUT_FORMATS.

    Samples are written as they are: nothing is normalised (integer formats clip at full scale).
    Raises AudioError (before writing anything) for a combination libsndfile cannot write.
    """
    path = Path(path)
    container, subtype = output_encoding(path, output_format)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.asarray(audio, dtype=np.float32).T, sample_rate, subtype=subtype, format=container)


def output_encoding(path: str | Path, output_format: str) -> tuple[str, str]:
    """(libsndfile format, subtype) that `write_audio` uses for `path` and `output_format`.

    Raises AudioError naming the path for an unknown output format or extension, or a combination
    libsndfile cannot write (FLAC float, any lossy format); the message suggests only combinations that work.
    """
    if output_format not in OUTPUT_FORMATS:
        raise AudioError(f"output format {output_format!r}; expected one of {list(OUTPUT_FORMATS)}")
    path, subtype = Path(path), OUTPUT_FORMATS[output_format]
    suffix = path.suffix.lower()
    container = OUTPUT_CONTAINERS.get(suffix)
    if container is not None and soundfile.check_format(container, subtype):
        return container, subtype
    if container is not None:
        problem = f"{container} cannot hold {output_format} samples"
    elif suffix in AUDIO_EXTENSIONS:
        problem = f"{suffix} output is not supported"
    else:
        problem = f"unknown output extension {suffix!r}" if suffix else "no file extension"
    raise AudioError(f"{path}: {problem}; use {_working_outputs(suffix)}")


def _working_outputs(suffix: str) -> str:
    """Suggestions for an output name, each a combination `output_encoding` accepts."""
    def formats(container: str) -> str:
        names = [name for name, subtype in OUTPUT_FORMATS.items() if soundfile.check_format(container, subtype)]
        return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else "".join(names)

    own = OUTPUT_CONTAINERS.get(suffix)
    suggestions = [f"{suffix} with --format {formats(own)}"] if own and formats(own) else []
    suggestions += [f"{extension} (--format {formats(OUTPUT_CONTAINERS[extension])})"
                    for extension in (".wav", ".flac") if OUTPUT_CONTAINERS[extension] != own]
    return ", or ".join(suggestions)


def truncation_note(path: str | Path) -> str | None:
    """A warning naming `path` if the file holds fewer samples than its header declares, else None.

    libsndfile reads a cut WAV/AIFF up to where it ends and only notes the header's length in its log
    ("data : <declared bytes> (should be <bytes there>)"); this turns that note into seconds.
    """
    try:
        info = soundfile.info(path)
    except (soundfile.LibsndfileError, RuntimeError, OSError):
        return None
    found = re.search(r"^\s*(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", info.extra_info, re.MULTILINE)
    if not found:
        return None
    declared, present = int(found.group(1)), int(found.group(2))
    if declared <= present:
        return None
    read_seconds = info.frames / info.samplerate
    if present <= 0 or declared > 1000 * present:
        return f"{path}: file ends early or its header is unfinished: {read_seconds:.2f} s read"
    declared_seconds = read_seconds * declared / present
    return f"{path}: file ends early: {read_seconds:.2f} s of {declared_seconds:.2f} s read"


def empty_track_warning(name: str) -> str:
    """The warning for a track (or file) of 0 samples."""
    return f"{name}: empty (0 samples); treated as silence"


def remove_dc(tracks: np.ndarray, sample_rate: int, *, in_place: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Remove the DC offset of each [tracks, samples] track that has one, as a console's high-pass does.

    A track whose mean exceeds DC_THRESHOLD (of full scale) and DC_RELATIVE_THRESHOLD of its peak
    (`dc_offset`) has the mean subtracted (no start-up transient for a constant offset), then passes a
    2nd-order Butterworth high-pass at DC_CUTOFF_HZ (for an offset that drifts: `DCFilter`); other tracks
    are untouched, bit for bit, as the model saw them in training.
    Works in blocks; in place when `in_place` (and `tracks` is float32). Returns (float32 tracks,
    the means removed [tracks], 0 for untouched tracks).
    """
    tracks = np.asarray(tracks, dtype=np.float32)
    if not in_place:
        tracks = tracks.copy()
    offsets = np.zeros(tracks.shape[0])
    block = 2**20
    for index, track in enumerate(tracks):
        if not track.size:
            continue
        peak = max(float(track.max()), -float(track.min()))
        offsets[index] = offset = dc_offset(float(np.mean(track, dtype=np.float64)), peak)
        if offset:
            dc_filter = DCFilter(offset, sample_rate)
            for start in range(0, track.size, block):
                dc_filter.apply(track[start : start + block])
    return tracks, offsets


def dc_offset(mean: float, peak: float) -> float:
    """The offset `remove_dc` removes from a track of this `mean` and `peak` (largest magnitude): the mean when it
    exceeds DC_THRESHOLD and DC_RELATIVE_THRESHOLD of the peak, else 0."""
    return mean if abs(mean) > max(DC_THRESHOLD, DC_RELATIVE_THRESHOLD * peak) else 0.0


class DCFilter:
    """`remove_dc`'s removal of `offset` from one track at `sample_rate` Hz over a stream: subtract it, then the
    DC_CUTOFF_HZ high-pass, whose state carries from block to block (equal to one pass over the track)."""

    def __init__(self, offset: float, sample_rate: int) -> None:
        self.offset = float(offset)  # a Python float: float32 samples minus it stay float32, as in training
        self.sections = signal.butter(2, DC_CUTOFF_HZ, btype="highpass", fs=sample_rate, output="sos")
        self.state = np.zeros((self.sections.shape[0], 2))

    def apply(self, block: np.ndarray) -> None:
        """Filter the next [samples] float32 samples of the track, in place."""
        if not block.size:
            return  # sosfilt would return zeroed states for no samples
        block[:], self.state = signal.sosfilt(self.sections, block - self.offset, zi=self.state)


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """[channels, samples] at from_rate -> [channels, round(samples·to_rate/from_rate)] at to_rate (soxr HQ)."""
    if from_rate == to_rate or audio.shape[-1] == 0:
        return audio
    resampled = soxr.resample(audio.T, from_rate, to_rate, quality="HQ")
    return np.ascontiguousarray(resampled.T, dtype=np.float32)


class Resampler:
    """`resample` over a stream of [channels, n] blocks (soxr's stream, HQ): the blocks it returns, joined, equal
    `resample` of the whole, bit for bit and as long. `finish()` returns the rest at the end."""

    def __init__(self, from_rate: int, to_rate: int, channels: int) -> None:
        self.stream = None if from_rate == to_rate else soxr.ResampleStream(from_rate, to_rate, channels,
                                                                              dtype="float32", quality="HQ")
        self.channels = channels

    def push(self, audio: np.ndarray, last: bool = False) -> np.ndarray:
        """[channels, n] next samples at from_rate -> [channels, m] next samples at to_rate."""
        if self.stream is None:
            return np.asarray(audio, np.float32)
        resampled = self.stream.resample_chunk(np.ascontiguousarray(np.asarray(audio, np.float32).T), last=last)
        return np.ascontiguousarray(resampled.T, dtype=np.float32)

    def finish(self) -> np.ndarray:
        """[channels, m]: the samples still held at the end of the stream."""
        return self.push(np.zeros((self.channels, 0), np.float32), last=True)


def read_tracks(paths: Mapping[str, str | Path], sample_rate: int | None = None, max_channels: int | None = None
                ) -> tuple[dict[str, np.ndarray], int, list[str]]:
    """Read files by name (e.g. slot) and bring them to one rate.

    Returns ({name: [channels, samples] float32}, rate in Hz, warnings). The rate is `sample_rate`,
    else the most common rate of the files (the highest on a tie); other files are resampled.
    The warnings name files that end before their header says (`truncation_note`), are empty, or whose
    header's rate is probably wrong (`stretched_file_notes`). Raises AudioError naming a file that cannot
    be read (`read_audio`), or has more than `max_channels` channels.
    """
    audio_by_name: dict[str, tuple[np.ndarray, int]] = {}
    warnings = []
    for name, path in paths.items():
        audio, rate = audio_by_name[name] = read_audio(path)
        warnings += file_notes(path, audio.shape[0], audio.shape[-1], max_channels)
    sample_rate, notes = song_rate({str(paths[name]): (audio.shape[-1], rate)
                                    for name, (audio, rate) in audio_by_name.items()}, sample_rate)
    tracks = {name: resample(audio, rate, sample_rate) for name, (audio, rate) in audio_by_name.items()}
    return tracks, sample_rate, warnings + notes


def file_notes(path: str | Path, channels: int, frames: int, max_channels: int | None) -> list[str]:
    """The warnings `read_tracks` gives for one file of `channels` and `frames`: it ends early (`truncation_note`),
    it is empty. AudioError naming it when it has more than `max_channels` channels."""
    if max_channels is not None and channels > max_channels:
        raise AudioError(f"{path}: {channels} channels; expected mono or stereo (1 or 2 channels): "
                         "export the track as mono (or the overheads as a stereo pair)")
    note = truncation_note(path)
    return ([note] if note else []) + ([empty_track_warning(str(path))] if frames == 0 else [])


def song_rate(files: Mapping[str, tuple[int, int]], sample_rate: int | None) -> tuple[int, list[str]]:
    """The rate files of {name: (frames, rate)} are mixed at: `sample_rate`, else their most common rate (the
    highest on a tie; 44.1 kHz for none); and the warnings when their rates differ (`stretched_file_notes`)."""
    rates = Counter(rate for _, rate in files.values())
    common = max(rates, key=lambda rate: (rates[rate], rate)) if rates else 44_100
    sample_rate = common if sample_rate is None else sample_rate
    if len(rates) <= 1:
        return sample_rate, []
    return sample_rate, [f"files at different sample rates ({', '.join(f'{rate} Hz' for rate in sorted(rates))}): "
                         f"each resampled to {sample_rate} Hz", *stretched_file_notes(files, common)]


def stretched_file_notes(files: Mapping[str, tuple[int, int]], common: int) -> list[str]:
    """Warnings naming each file of {name: (frames, rate)} whose header's rate (not `common`, the other files'
    rate) makes it more than twice as long as the longest file at `common` Hz, when at that rate it would be no
    longer than 1.5 times it: a header that probably gives the wrong rate (the file is resampled, and the mix as
    long, as it says)."""
    at_common = {file: frames / rate for file, (frames, rate) in files.items() if rate == common}
    if not at_common or max(at_common.values()) <= 0:
        return []
    longest = max(at_common, key=at_common.get)
    most = at_common[longest]
    notes = []
    for file, (frames, rate) in files.items():
        seconds = frames / rate
        if rate != common and seconds > 2 * most and frames / common <= 1.5 * most:
            notes.append(f"{file}: {rate} Hz in its header makes it {seconds:.2f} s long, {longest} {most:.2f} s at "
                         f"{common} Hz; the header's rate is probably wrong (re-export the file at its real rate)")
    return notes


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


def gain_and_pan(left: float, right: float) -> tuple[float, float]:
    """The inverse of `pan_gains(pan, "constant_power")` times a gain: (gain in dB, pan -1 .. +1) of a
    track sent to the left and right channels with these linear gains (their magnitudes: a polarity flip
    is not a pan). Silent (both 0): (-inf, 0)."""
    gain = math.hypot(left, right)
    if gain == 0:
        return -math.inf, 0.0
    return 20 * math.log10(gain), math.atan2(abs(right), abs(left)) * 4 / math.pi - 1.0


def padded_slice(audio: np.ndarray, start: int, length: int, dtype: type | None = None) -> np.ndarray:
    """[..., samples] -> audio[..., start : start + length] as a new [..., length] array (of `dtype`, default
    audio's), silence where it reaches past either end (`start` may be negative)."""
    out = np.zeros((*audio.shape[:-1], length), dtype or audio.dtype)
    begin, end = max(start, 0), min(start + length, audio.shape[-1])
    if end > begin:
        out[..., begin - start : end - start] = audio[..., begin:end]
    return out
