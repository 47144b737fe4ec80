"""The multitrack dataset format: parquet shards of song segments, FLAC audio in `datasets` Audio columns.

`song_rows` cuts a `Song` into rows, `DatasetWriter` writes them as shards, `open_split` reads a split
back and `decode_audio` decodes an audio cell (layout and configs: docs/datasets.md).

    for row in open_split("out/drums", "train"):
        tracks = [decode_audio(entry)[0] for entry in row["tracks"]]  # [1, samples] float32 each
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile

from mixwave_hf.audio import padded_slice
from mixwave_hf.errors import MixwaveError

SEGMENT_SECONDS = 30.0
#: The splits of a multitrack dataset (a corpus may write more: synth.CORPUS_SPLITS adds "stress").
DATASET_SPLITS = ("train", "validation", "test")
TARGETS = {"wet": "wet_mix", "dry": "dry_mix"}
#: Rows per parquet row group: streaming reads whole row groups, so keep them a few segments each.
ROWS_PER_ROW_GROUP = 2


def features():
    """The `datasets.Features` of a row (imported lazily: training can run without `datasets`)."""
    from datasets import Audio, Features, List, Value

    return Features({
        "song_id": Value("string"),
        "segment_index": Value("int32"),
        "segment_start": Value("int64"),  # samples from the song's start, at sample_rate
        "sample_rate": Value("int32"),
        "track_names": List(Value("string")),
        "tracks": List(Audio()),
        "wet_mix": Audio(),
        "dry_mix": Audio(),  # None where the source has no dry mix
        "source": Value("string"),
        "license": Value("string"),
        "engineer": Value("string"),
        "style": Value("string"),
        "kit": Value("string"),
        "seed": Value("int64"),  # the generator's seed; -1 for recorded material
        "metadata": Value("string"),  # JSON: everything else, e.g. every render parameter
    })


@dataclass
class Song:
    """A whole multitrack song: mono tracks by name, stereo mixes, all at `sample_rate` Hz.

    tracks: name -> [samples] float32; wet_mix / dry_mix: [2, samples] float32 or None.
    """

    song_id: str
    tracks: dict[str, np.ndarray]
    wet_mix: np.ndarray | None
    dry_mix: np.ndarray | None
    sample_rate: int
    source: str
    license: str
    engineer: str = ""
    style: str = ""
    kit: str = ""
    seed: int = -1
    metadata: dict = field(default_factory=dict)

    @property
    def length(self) -> int:
        return max(audio.shape[-1] for audio in self.tracks.values())


def encode_flac(audio: np.ndarray, sample_rate: int) -> bytes:
    """[samples] or [channels, samples] float audio -> 24-bit FLAC bytes."""
    buffer = io.BytesIO()
    soundfile.write(buffer, np.asarray(audio, np.float32).T, sample_rate, format="FLAC", subtype="PCM_24")
    return buffer.getvalue()


def decode_audio(entry: dict) -> tuple[np.ndarray, int]:
    """An undecoded Audio value ({"bytes", "path"}) -> ([channels, samples] float32, rate); no FFmpeg."""
    source = io.BytesIO(entry["bytes"]) if entry.get("bytes") else entry["path"]
    samples, rate = soundfile.read(source, dtype="float32", always_2d=True)
    return np.ascontiguousarray(samples.T), int(rate)


def flac_entry(audio: np.ndarray, sample_rate: int) -> dict:
    """An Audio column value holding `audio` as FLAC bytes."""
    return {"bytes": encode_flac(audio, sample_rate), "path": None}


def song_rows(song: Song, segment_seconds: float = SEGMENT_SECONDS) -> Iterator[dict]:
    """The rows of a song: one per segment of at most `segment_seconds` (the last may be shorter)."""
    if not song.tracks:
        raise ValueError(f"song {song.song_id}: no tracks")
    segment = max(1, int(round(segment_seconds * song.sample_rate)))
    names = sorted(song.tracks)
    metadata = json.dumps(song.metadata, sort_keys=True)
    for index in range(math.ceil(song.length / segment)):
        start = index * segment
        length = min(segment, song.length - start)

        def cut(audio: np.ndarray | None, start: int = start, length: int = length) -> dict | None:
            return None if audio is None else flac_entry(padded_slice(audio, start, length), song.sample_rate)

        yield {
            "song_id": song.song_id,
            "segment_index": index,
            "segment_start": start,
            "sample_rate": song.sample_rate,
            "track_names": names,
            "tracks": [cut(song.tracks[name]) for name in names],
            "wet_mix": cut(song.wet_mix),
            "dry_mix": cut(song.dry_mix),
            "source": song.source,
            "license": song.license,
            "engineer": song.engineer,
            "style": song.style,
            "kit": song.kit,
            "seed": song.seed,
            "metadata": metadata,
        }


class DatasetWriter:
    """Writes rows into `shards[split]` parquet shards per split (round robin), then the dataset card.

    Files are written under temporary names and renamed by `close()`, so an interrupted build leaves
    no shard that looks complete.
    """

    def __init__(self, directory: str | Path, shards: dict[str, int]) -> None:
        import pyarrow.parquet as parquet

        self.directory = Path(directory)
        (self.directory / "data").mkdir(parents=True, exist_ok=True)
        self.features = features()
        self.schema = self.features.arrow_schema
        self.shards = {split: max(1, count) for split, count in shards.items()}
        self.writers = {
            (split, index): parquet.ParquetWriter(self._path(split, index, partial=True), self.schema,
                                                  compression="none")  # FLAC is already compressed
            for split, count in self.shards.items() for index in range(count)
        }
        self.pending: dict[tuple[str, int], list[dict]] = {key: [] for key in self.writers}
        self.next_shard = dict.fromkeys(self.shards, 0)
        self.rows = dict.fromkeys(self.shards, 0)
        self.seconds = dict.fromkeys(self.shards, 0.0)
        self.songs: dict[str, set[str]] = {split: set() for split in self.shards}

    def _path(self, split: str, index: int, partial: bool = False) -> Path:
        name = f"{split}-{index:05d}-of-{self.shards[split]:05d}.parquet"
        return self.directory / "data" / (f".{name}.partial" if partial else name)

    def write(self, split: str, row: dict) -> None:
        """Add one row (as made by `song_rows`) to the next shard of `split`."""
        if split not in self.shards:
            raise ValueError(f"split {split!r}; this writer has {list(self.shards)}")
        key = (split, self.next_shard[split])
        self.next_shard[split] = (self.next_shard[split] + 1) % self.shards[split]
        # Rows already hold the Audio columns' storage form ({"bytes", "path"}), so they go to arrow
        # as they are: `Features.encode_example` would import torchcodec (and FFmpeg) for nothing.
        self.pending[key].append(row)
        if len(self.pending[key]) >= ROWS_PER_ROW_GROUP:
            self._flush(key)
        self.rows[split] += 1
        self.songs[split].add(row["song_id"])
        wet = row["wet_mix"] or row["tracks"][0]
        self.seconds[split] += soundfile.info(io.BytesIO(wet["bytes"])).duration

    def _flush(self, key: tuple[str, int]) -> None:
        import pyarrow as pa

        if self.pending[key]:
            self.writers[key].write_table(pa.Table.from_pylist(self.pending[key], schema=self.schema))
            self.pending[key] = []

    def close(self) -> dict:
        """Finish every shard and return the summary {split: {rows, songs, hours, shards}}."""
        for key, writer in self.writers.items():
            self._flush(key)
            writer.close()
            self._path(*key, partial=True).replace(self._path(*key))
        return {split: {"rows": self.rows[split], "songs": len(self.songs[split]),
                        "hours": self.seconds[split] / 3600, "shards": self.shards[split]}
                for split in self.shards}

    def abort(self) -> None:
        """Close and delete the partial shards (after a failure)."""
        for key, writer in self.writers.items():
            writer.close()
            self._path(*key, partial=True).unlink(missing_ok=True)


class DatasetError(MixwaveError, ValueError):
    """A dataset that cannot be read: the message names the folder, Hub id or shard file, and what is expected."""


#: What a dataset argument may be, for the messages of `open_split`.
EXPECTED_DATASET = "expected a folder built by `mixwave data build` or a Hub dataset id such as org/name"


def open_split(path_or_repo_id: str, split: str, streaming: bool = True):
    """`datasets.load_dataset(path_or_repo_id, split=split, streaming=streaming)` with the audio left undecoded.

    Raises DatasetError naming `path_or_repo_id` when it is neither a folder here nor a dataset the Hub gives
    (not found, offline), has no such split, or (a folder) holds a shard of the split whose parquet footer
    cannot be read (`damaged_shard`, which names it).
    """
    from datasets import Audio, List, load_dataset

    name = str(path_or_repo_id)
    if Path(name).exists() and not Path(name).is_dir():
        raise DatasetError(f"{name}: is a file; {EXPECTED_DATASET}")
    damage = damaged_shard(Path(name), split) if Path(name).is_dir() else None
    if damage:
        raise DatasetError(damage)
    try:
        dataset = load_dataset(name, split=split, streaming=streaming)
    except (OSError, ValueError) as error:  # ConnectionError, DatasetNotFoundError, a bad split, a bad id
        if Path(name).is_dir():
            raise DatasetError(f"{name}: {error}") from error
        raise DatasetError(f"{name}: neither a folder here nor reachable as a Hub dataset id ({type(error).__name__}: "
                           f"{error}); {EXPECTED_DATASET}") from error
    dataset = dataset.cast_column("tracks", List(Audio(decode=False)))
    for column in ("wet_mix", "dry_mix"):
        dataset = dataset.cast_column(column, Audio(decode=False))
    return dataset


def damaged_shard(folder: Path, split: str, whole: bool = False) -> str | None:
    """Why a parquet shard of `split` in the dataset `folder` (data/{split}-*.parquet) cannot be read, naming
    it, or None: its footer (`whole`: every row group too, the audio left undecoded) is read with pyarrow."""
    import pyarrow.parquet as parquet

    for shard in sorted(folder.glob(f"data/{split}-*.parquet")):
        try:
            file = parquet.ParquetFile(shard)
            for group in range(file.num_row_groups if whole else 0):
                file.read_row_group(group)
        except Exception as error:  # noqa: BLE001 - pyarrow raises ArrowInvalid, OSError, ... for damaged files
            return (f"{shard}: not a readable parquet shard ({type(error).__name__}: {error}); the file is probably "
                    "truncated or damaged: build the dataset again (or download it again)")
    return None
