"""Stem files read block by block at one rate and arranged by slot: `audio.read_tracks` then
`tracks.arrange_tracks`, streamed, so that a song of any length is read in bounded memory.

    song = open_song({"kick": "kick.wav", "overheads": "oh.wav"}, model.slot_names)
    for block in song.blocks():   # [slots, n] float32 at song.sample_rate, the song in order
        ...

Each pass over the song opens the files again; each file is resampled to the song's rate on its own (soxr's
stream equals its one-shot resampling bit for bit), and a file that ends early gives silence to the song's end.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile

from mixwave_hf.audio import (
    AudioError,
    Resampler,
    check_readable,
    check_sample_rate,
    file_notes,
    nonfinite_error,
    song_rate,
    unreadable,
)
from mixwave_hf.slots import OVERHEAD_PAIR, OVERHEAD_PAIR_SLOTS, check_overhead_pair
from mixwave_hf.tracks import channel_notes, claim_slot, length_notes, slot_signals

#: Frames read from a file at a time (and the most samples per block of `SongFiles.blocks`).
READ_BLOCK = 2**16


@dataclass(frozen=True)
class SongFile:
    """One file of a song: given as `name` (a slot, an alias, or "overheads") for `slot` (or OVERHEAD_PAIR); its
    header's rate (Hz), channels and frames."""

    name: str
    slot: str
    path: Path
    sample_rate: int
    channels: int
    frames: int

    @property
    def slots(self) -> tuple[str, ...]:
        """The model slots this file feeds."""
        return OVERHEAD_PAIR_SLOTS if self.slot == OVERHEAD_PAIR else (self.slot,)


@dataclass
class SongFiles:
    """The files of a song by slot, checked by their headers: `sample_rate` (Hz) the song is read at, `warnings`
    as `read_tracks` gives them. `slot_lengths` ({slot: samples at the song's rate}) is known after a full pass."""

    files: list[SongFile]
    slot_names: tuple[str, ...]
    sample_rate: int
    warnings: list[str] = field(default_factory=list)
    slot_lengths: dict[str, int] | None = None

    @property
    def seconds(self) -> float:
        """The song's length by the files' headers (s)."""
        return max((file.frames / file.sample_rate for file in self.files), default=0.0)

    def arrangement_notes(self) -> list[str]:
        """What arranging the files by slot did (`arrange_tracks`' warnings, less the empty files that the
        reading warnings name): stereo tracks downmixed, mono overheads fed to both, shorter tracks padded."""
        notes = [note for file in self.files for note in channel_notes(file.name, file.slot, file.channels)]
        return notes + length_notes(self.slot_lengths or {})

    def blocks(self, slots: Collection[str] | None = None, check: bool = False) -> Iterator[np.ndarray]:
        """The song in [len(slot_names), n] float32 blocks at `sample_rate` (n <= READ_BLOCK), as `read_tracks`
        and `arrange_tracks` give it whole: each file's channels fed to its slots (`slot_signals`), resampled to
        the song's rate, silence after its end. Only the files feeding `slots` (default: all) are read; other
        rows are silence. With `check`, AudioError naming a file with NaN or infinite samples. A pass over all
        the files sets `slot_lengths`."""
        wanted = set(self.slot_names if slots is None else slots)
        streams = [FileStream(file, self.sample_rate, check) for file in self.files if wanted & set(file.slots)]
        rows = {slot: index for index, slot in enumerate(self.slot_names)}
        try:
            while True:
                chunks = [stream.read(READ_BLOCK) for stream in streams]
                count = max((chunk.shape[1] for chunk in chunks), default=0)
                if count == 0:
                    break
                block = np.zeros((len(self.slot_names), count), np.float32)
                for stream, chunk in zip(streams, chunks, strict=True):
                    for slot, signal in slot_signals(chunk, stream.file.slot).items():
                        if slot in wanted:
                            block[rows[slot], : len(signal)] = signal
                yield block
        finally:
            for stream in streams:
                stream.close()
        if len(streams) == len(self.files):
            self.slot_lengths = {slot: stream.produced for stream in streams for slot in stream.file.slots}


def open_song(files_by_slot: Mapping[str, str | Path], slot_names: tuple[str, ...], sample_rate: int | None = None,
              max_channels: int = 2) -> SongFiles:
    """Check files by slot name (or alias, or "overheads" for a stereo pair) by their headers, as `read_tracks` and
    `arrange_tracks` check them read: the rate is `sample_rate`, else the files' most common rate.

    Raises AudioError naming a file that is missing, no regular file, cannot be opened as audio, has a damaged
    rate or more than `max_channels` channels; ValueError for an unknown slot, a slot given twice or half an
    overhead pair given with the pair.
    """
    given_as: dict[str, str] = {}
    files, warnings = [], []
    for name, path in files_by_slot.items():
        slot = claim_slot(name, slot_names, given_as)
        path = Path(path)
        check_readable(path)
        try:
            info = soundfile.info(str(path))
        except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
            raise unreadable(path, error) from error
        check_sample_rate(path, info.samplerate)
        warnings += file_notes(path, info.channels, info.frames, max_channels)
        files.append(SongFile(name, slot, path, int(info.samplerate), info.channels, info.frames))
    check_overhead_pair(given_as)
    sample_rate, notes = song_rate({str(file.path): (file.frames, file.sample_rate) for file in files}, sample_rate)
    return SongFiles(files, tuple(slot_names), sample_rate, warnings + notes)


class FileStream:
    """One file read block by block and resampled to the song's rate: `read(n)` gives its next n samples."""

    def __init__(self, file: SongFile, sample_rate: int, check: bool) -> None:
        self.file, self.check = file, check
        try:
            self.handle = soundfile.SoundFile(str(file.path))
        except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
            raise unreadable(file.path, error) from error
        self.resampler = Resampler(file.sample_rate, sample_rate, file.channels)
        self.held: list[np.ndarray] = []
        self.held_count, self.produced, self.ended = 0, 0, False

    def read(self, count: int) -> np.ndarray:
        """[channels, <= count] float32: the next samples at the song's rate; fewer only at the file's end."""
        while self.held_count < count and not self.ended:
            self._pull()
        if not self.held:
            return np.zeros((self.file.channels, 0), np.float32)
        joined = self.held[0] if len(self.held) == 1 else np.concatenate(self.held, axis=1)
        taken, rest = joined[:, :count], joined[:, count:]
        self.held, self.held_count = ([rest] if rest.shape[1] else []), rest.shape[1]
        self.produced += taken.shape[1]
        return taken

    def _pull(self) -> None:
        try:
            frames = self.handle.read(READ_BLOCK, dtype="float32", always_2d=True)
        except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
            raise unreadable(self.file.path, error) from error
        if len(frames) == 0:
            resampled, self.ended = self.resampler.finish(), True
        else:
            if self.check and not np.isfinite(frames).all():
                raise nonfinite_error(str(self.file.path), count_nonfinite(self.file.path))
            resampled = self.resampler.push(frames.T)
        if resampled.shape[1]:
            self.held.append(resampled)
            self.held_count += resampled.shape[1]

    def close(self) -> None:
        self.handle.close()


def count_nonfinite(path: Path) -> int:
    """NaN or infinite samples in the file at `path`, read block by block."""
    try:
        with soundfile.SoundFile(str(path)) as handle:
            return sum(int(np.count_nonzero(~np.isfinite(block)))
                       for block in handle.blocks(READ_BLOCK, dtype="float32", always_2d=True))
    except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
        raise AudioError(f"{path}: cannot be read as audio ({error})") from error
