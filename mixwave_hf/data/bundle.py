"""Bundles: a split's segments pre-decoded in slot order into one .npz, and the training crops cut from one.

    index = export_bundle("org/drums", "train", "train.npz", CropConfig.for_model(model.config))
    crops = BundleDataset("train.npz", CropConfig.for_model(model.config), repeat=True)  # numpy and torch only
    read_bundle_index("train.npz")["stats"]  # what the export skipped, and why

docs/data-loading.md ("Bundles") gives the file layout and its sizes.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mixwave_hf.data.crops import CropConfig, LoaderStats, Segment, long_enough_segment, segment_from_row
from mixwave_hf.data.schema import DatasetError
from mixwave_hf.data.sharded import ShardedCropDataset, StreamingOptions
from mixwave_hf.files import atomic_path

logger = logging.getLogger(__name__)

BUNDLE_FORMAT = "mixwave-hf-bundle"
BUNDLE_VERSION = 1
BUNDLE_DTYPES = ("int16", "float16", "float32")
INT16_FULL_SCALE = 32767.0


def export_bundle(path_or_repo_id: str | os.PathLike, split: str, out_file: str | os.PathLike,
                  config: CropConfig | None = None, *, dtype: str = "int16", max_segments: int | None = None,
                  max_seconds_per_segment: float | None = None, progress: bool = True) -> dict:
    """Decode a split's segments (in slot order, with `config.target`) into one .npz; returns its index.

    Rows are read in order and skipped as by the streaming loader (counted in the index's "stats").
    `dtype`: "int16" (scaled per segment and channel by its peak: ~96 dB below each channel's peak),
    "float16" or "float32" (exact). `max_segments` / `max_seconds_per_segment` keep the bundle small
    (each segment cut to its first seconds). The file is written under a temporary name and renamed;
    memory holds one segment at a time (the audio is spooled to a file per channel, then copied in).
    """
    from tqdm.auto import tqdm

    from mixwave_hf.data.schema import open_split  # imports datasets

    config = config or CropConfig()
    if dtype not in BUNDLE_DTYPES:
        raise ValueError(f"dtype={dtype!r}; expected one of {BUNDLE_DTYPES}")
    limit = None if max_seconds_per_segment is None else int(round(max_seconds_per_segment * config.sample_rate))
    stats = LoaderStats()
    segments: list[Segment] = []  # metadata only: the audio goes to the spool at the stored dtype at once
    lengths, scales = [0], []
    with atomic_path(out_file) as partial, ChannelSpool(partial, dtype) as spool:
        for row in tqdm(open_split(str(path_or_repo_id), split, streaming=True), desc=f"bundle {split}",
                        unit="segment", disable=not progress):
            segment = _kept_segment(row, config, stats, limit)
            if segment is None:
                continue
            part, scale = _stored(np.concatenate([segment.tracks, segment.target]), dtype)
            spool.append(part)
            lengths.append(part.shape[-1])
            scales.append(scale)
            segment.tracks = segment.target = None  # the audio is in the spool
            segment.metadata["samples"] = part.shape[-1]
            segments.append(segment)
            if max_segments is not None and len(segments) >= max_segments:
                break
        if not segments:
            raise DatasetError(f"{path_or_repo_id} split {split!r}: no usable segment ({stats.summary()})")
        index = {
            "format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "source": str(path_or_repo_id), "split": split,
            "slot_names": list(config.slot_names), "sample_rate": config.sample_rate, "target": config.target,
            "dtype": dtype, "stats": stats.as_dict(),
            "segments": [{"song_id": s.song_id, "segment_index": s.segment_index, **s.metadata} for s in segments],
        }
        spool.write_npz("audio", {"offsets": np.cumsum(lengths).astype(np.int64), "scales": np.stack(scales),
                                  "index": np.frombuffer(json.dumps(index).encode(), np.uint8)})
    logger.info("wrote %s: %s", out_file, stats.summary())
    return index


def _kept_segment(row: dict, config: CropConfig, stats: LoaderStats, limit: int | None) -> Segment | None:
    """A row's segment as a bundle keeps it (cut to its first `limit` samples), or None where it is
    skipped (unusable or shorter than config.min_segment_samples: counted in `stats`)."""
    segment = long_enough_segment(segment_from_row(row, config, stats), config, stats)
    if segment is None:
        return None
    if limit is not None:
        segment.tracks, segment.target = segment.tracks[:, :limit], segment.target[:, :limit]
    stats.segments += 1
    return segment


class ChannelSpool:
    """Segments' [channels, samples] audio appended channel by channel to one temporary file per channel
    beside `out_file`, then copied into `out_file` as one .npz member [channels, all samples] (C order)
    with the other arrays: an .npz as np.savez writes it (ZIP64 for large ones), one segment in memory."""

    def __init__(self, out_file: Path, dtype: str) -> None:
        self.out_file, self.dtype = Path(out_file), np.dtype(dtype)
        self.files: list = []
        self.samples = 0

    def __enter__(self) -> ChannelSpool:
        return self

    def __exit__(self, *exc_info) -> None:
        for file in self.files:
            file.close()
            Path(file.name).unlink(missing_ok=True)

    def append(self, part: np.ndarray) -> None:
        """Append a [channels, samples] array of the spool's dtype (the same channels every time)."""
        if not self.files:
            self.files = [open(self.out_file.with_name(f"{self.out_file.name}.channel{c}"), "w+b")  # noqa: SIM115
                          for c in range(part.shape[0])]
        for file, channel in zip(self.files, part, strict=True):
            file.write(np.ascontiguousarray(channel, self.dtype).tobytes())
        self.samples += part.shape[-1]

    def write_npz(self, name: str, arrays: dict[str, np.ndarray]) -> None:
        """Write `out_file`: the spooled audio as member `name`, then `arrays`, uncompressed."""
        import shutil
        import zipfile

        with zipfile.ZipFile(self.out_file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                          "shape": (len(self.files), self.samples)}
                np.lib.format.write_array_header_1_0(member, header)
                for file in self.files:
                    file.seek(0)
                    shutil.copyfileobj(file, member, 2**24)
            for key, array in arrays.items():
                with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)


def _stored(audio: np.ndarray, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """[channels, samples] float32 -> (the bundle's stored array, per-channel scales): int16 scaled by each
    channel's peak (~96 dB below it), or float16/float32 as they are (scale 1)."""
    if dtype != "int16":
        return audio.astype(dtype), np.ones(audio.shape[0], np.float32)
    peaks = np.abs(audio).max(axis=1) if audio.shape[-1] else np.zeros(audio.shape[0], np.float32)
    scales = np.where(peaks > 0, peaks, 1.0).astype(np.float32)
    return np.rint(audio * (INT16_FULL_SCALE / scales)[:, None]).astype(np.int16), scales


class BundleSegments(Sequence):
    """The segments of a bundle, decoded to float32 one at a time on access: the bundle stays in memory at
    its stored dtype (int16: a quarter of float32; 5 GB for 1.6 h of 8 tracks and a stereo target)."""

    def __init__(self, file: str | os.PathLike) -> None:
        with np.load(file, allow_pickle=False) as arrays:
            self.index = _checked_index(arrays, file)
            self.audio, self.offsets, self.scales = arrays["audio"], arrays["offsets"], arrays["scales"]
        self.slots = len(self.index["slot_names"])

    def __len__(self) -> int:
        return len(self.index["segments"])

    def __getitem__(self, number: int) -> Segment:
        if not -len(self) <= number < len(self):
            raise IndexError(f"segment {number} of a bundle of {len(self)}")
        number %= len(self)
        entry = self.index["segments"][number]
        part = self.audio[:, self.offsets[number] : self.offsets[number + 1]].astype(np.float32)
        if self.audio.dtype == np.int16:
            part *= (self.scales[number] / INT16_FULL_SCALE)[:, None]
        metadata = {key: value for key, value in entry.items() if key not in ("song_id", "segment_index", "samples")}
        return Segment(part[: self.slots], part[self.slots :], entry["song_id"], entry["segment_index"], metadata)


def read_bundle_index(file: str | os.PathLike) -> dict[str, Any]:
    """A bundle's index (what `export_bundle` recorded: source, slots, rate, target, dtype, stats, segments),
    without reading its audio; a file of another format, or of a newer version, is refused (ValueError)."""
    with np.load(file, allow_pickle=False) as arrays:
        return _checked_index(arrays, file)


def _checked_index(arrays: Any, file: str | os.PathLike) -> dict[str, Any]:
    """The index of an open bundle (`np.load`'s NpzFile), checked to be a bundle this version reads."""
    index = json.loads(arrays["index"].tobytes())
    if index.get("format") != BUNDLE_FORMAT or index.get("version", 0) > BUNDLE_VERSION:
        found = f"format {index.get('format')!r} version {index.get('version')}"
        raise DatasetError(f"{file}: {found}; expected {BUNDLE_FORMAT!r} up to version {BUNDLE_VERSION} "
                         "(written by export_bundle)")
    return index


def read_bundle(file: str | os.PathLike) -> tuple[dict, list[Segment]]:
    """A bundle written by `export_bundle` -> (its index, its segments as float32); numpy only.

    Holds the whole bundle as float32: `BundleSegments` decodes one segment at a time instead."""
    bundle = BundleSegments(file)
    return bundle.index, list(bundle)


def bundle_crop_config(index: dict, config: CropConfig | None, file: str | os.PathLike) -> CropConfig:
    """`config` checked against the bundle (slots, rate, target), or the bundle's with default lengths."""
    bundled = {"slot_names": tuple(index["slot_names"]), "sample_rate": index["sample_rate"], "target": index["target"]}
    if config is None:
        return CropConfig(**bundled)
    asked = {key: getattr(config, key) for key in bundled}
    if asked != bundled:
        raise DatasetError(f"{file}: bundle of {bundled}; the crop config asks for {asked}: export a bundle "
                         "for this config (export_bundle(..., config=config))")
    return config


class BundleDataset(ShardedCropDataset):
    """Training crops from a bundle (`export_bundle`): the streaming loader's crops, gains and state, numpy only.

    Segments are split among readers (rank x DataLoader worker) by striding a per-epoch permutation
    (or, unshuffled, the bundle's order). Arguments as StreamingDataset; `config` defaults to the
    bundle's slots, rate and target with the default window.
    """

    def __init__(self, file: str | os.PathLike, config: CropConfig | None = None,
                 options: StreamingOptions | None = None, *, rank: int = 0, world_size: int = 1,
                 repeat: bool = False) -> None:
        self.file = str(file)
        self.segments = BundleSegments(file)
        self.index = self.segments.index
        super().__init__(bundle_crop_config(self.index, config, file), options or StreamingOptions(), rank=rank,
                         world_size=world_size, repeat=repeat)

    def _items(self, reader: int, readers: int, epoch: int, source: Any) -> Iterator[tuple[int, Any]]:
        if len(self.segments) < readers:
            raise DatasetError(f"{self.file}: {len(self.segments)} segments for {readers} readers (world_size x "
                             "DataLoader workers); every reader needs at least one: use fewer workers")
        count = len(self.segments)
        order = np.random.default_rng([self.seed, 2, epoch]).permutation(count) if self.shuffle else np.arange(count)
        mine = order[reader::readers].tolist()
        position = 0 if source is None else source["position"]  # the next of `mine` to read
        for number in range(position, len(mine)):
            yield mine[number], {"position": number + 1}

    def _segment(self, item: int) -> Segment:
        return self.segments[item]

