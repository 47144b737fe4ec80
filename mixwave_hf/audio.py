"""Reading, writing and resampling audio (soundfile, soxr). Arrays are [channels, samples] float32."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import soundfile
import soxr

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
