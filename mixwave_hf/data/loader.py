"""Training crops from the multitrack dataset: a streaming loader, a compact bundle, a fixed validation set.

    from mixwave_hf.data.loader import CropConfig, StreamingDataset, ValidationDataset
    config = CropConfig.for_model(model)                     # 121,843 input -> 89,093 output samples
    crops = StreamingDataset("org/drums", "train", config, rank=0, world_size=1, repeat=True)
    loader = torch.utils.data.DataLoader(crops, batch_size=16, num_workers=4)
    batch = next(iter(loader))  # {"tracks": [16, 8, 121843], "target": [16, 2, 89093], ...} float32

What a crop is. A segment (one dataset row, up to 30 s) is decoded once (FLAC bytes via soundfile,
never FFmpeg), its tracks put in the model's slot order (`slots.match_slot` aliases: "bd" -> kick,
a stereo "overheads" track feeds both overhead slots, a slot with no track is silence, a track
matching no slot is ignored and counted, a second track for a filled slot likewise), and
`crops_per_segment` random windows are cut from it: `tracks` [slots, input] from `start`, and the
`target` mix [2, output] from `start + context`, the output samples the model computes for that
window. Windows are drawn so that the output lies inside the segment; the context around it may
reach past the segment's edges, where it is silence. At a song's start and end that is exactly what
`mix_tracks` does (it pads the song with silence); at an inner 30 s boundary it hides up to
`context` samples (0.37 s at the default size) of real context from about 2.6% of the windows, a
small price for never dropping the output samples near segment edges. Segments shorter than
`min_segment_seconds` are skipped and counted; a segment shorter than the output window is padded
with silence in both tracks and target.

Gain augmentation. Each input track of a training crop is scaled by its own random gain, uniform in
±`gain_db` dB, and the target is left unchanged. The engineer loudness-normalises every track before
mixing, so the right mix does not depend on the levels the tracks were recorded at; training on an
unchanged target with re-levelled inputs teaches exactly that invariance. Scaling the target as
well would teach the opposite (louder inputs, louder mix) and is only consistent for a linear sum,
not for a mix with compressors and a limiter, so it is not offered. Validation crops have no gain.

Sharding. Each reader, i.e. each (rank, DataLoader worker) pair, reads a disjoint set of parquet
shards: reader `rank * num_workers + worker` of `world_size * num_workers` takes every
(world_size * num_workers)-th shard (`datasets.IterableDataset.shard`). The shard count should be a
multiple of world_size x num_workers; when it is not, the split is resharded by parquet row group
(`IterableDataset.reshard`, a few segments each, see `schema.ROWS_PER_ROW_GROUP`) with a warning,
as readers would otherwise get unequal numbers of files; with fewer row groups than readers a
ValueError names the counts. The worker comes from `torch.utils.data.get_worker_info()` inside the
worker; `iter_worker(worker, num_workers)` iterates as a given worker would (tests, custom launchers).

With Accelerate (checked against accelerate 1.15's `prepare_data_loader`): pass
`rank=accelerator.process_index, world_size=accelerator.num_processes` and do NOT give this loader to
`accelerator.prepare`. With `dispatch_batches=False` (and `split_batches=False`), `prepare` wraps any
torch IterableDataset in its `IterableDatasetShard`, which reads the stream on every process and keeps
one batch in `num_processes`: on top of our own rank sharding that silently drops all but
1/num_processes of the data (with `dispatch_batches=True`, rank 0 would read only its own shards and
send them to everyone; seen on 2 CPU processes: prepare() delivered 8 of 15 segments, this loader
alone all 15, disjoint). Move batches to the device yourself (`batch["tracks"].to(accelerator.device)`).
Never combine this with `datasets.distributed.split_dataset_by_node` either: the split is already
per rank. Validation is different: `ValidationDataset` is map-style and is meant for
`accelerator.prepare` and `gather_for_metrics`.

Shuffling. Shard order and a buffer of `shuffle_buffer_segments` undecoded rows come from datasets'
`IterableDataset.shuffle(seed, buffer_size)` + `set_epoch`; the crops of the decoded segments then
pass through a buffer of `shuffle_buffer_crops` crops, so that a batch mixes several segments
rather than holding 8 windows of one. Memory per reader: about 22 MB per buffered row (30 s of
10 channels of FLAC) and 4.6 MB per buffered default-size crop. `set_epoch(epoch)` reshuffles the
next pass; it reaches DataLoader workers when they are started for that pass (not with
`persistent_workers=True`); with `repeat=True` each reader counts its own epochs and never stops,
which suits step-based training. With `shuffle=False` the segments come in the same order every
epoch (crop positions and gains are drawn anew each epoch, from the seed).

Resuming. `state_dict()` / `load_state_dict()` hold, per reader, the epoch, datasets' own stream
position (`IterableDataset.state_dict`), the segments read and crops delivered in this epoch, and the
counters. Crop positions and gains are drawn from a generator seeded by (seed, epoch, reader,
segment number), so they need no saved RNG state. Without shuffling a restored dataset continues
with exactly the crops that would have come next. With shuffling, resuming is approximate: the
contents of both buffers are lost (datasets documents the same for its buffer) and datasets refills
its row buffer from the saved stream position, so around a checkpoint a few segments may be missed
or read twice within that epoch; the resumed stream is still deterministic. With DataLoader
workers each worker holds its own state: use torchdata's `StatefulDataLoader`, whose
`state_dict()` collects every worker's `state_dict()` and whose `load_state_dict` hands each worker
its own, and resume with the same world_size and num_workers (a state from another layout is
refused); a plain DataLoader cannot resume workers. Under Accelerate, save `loader.state_dict()`
per rank next to `accelerator.save_state(...)`, e.g. to `loader-{process_index}.pt`: accelerate
1.15's own `use_stateful_dataloader` writes one `dl_state_dict.bin` from every process to the same
path, which keeps only one rank's position.

Counting. Rows whose audio does not decode are skipped, logged and counted; so are rows without
the chosen target, too short, or with no track matching a slot, and unmatched track names. The
counters (`LoaderStats`) are `dataset.stats` in the process that iterates; with workers, sum them
from a StatefulDataLoader state with `LoaderStats.from_state(loader.state_dict())`.

Bundles. `export_bundle` writes a split's segments, already decoded and in slot order, to one .npz
(int16 with a scale per segment and channel: 0.9 MB per second of 8 tracks and a stereo target,
21 MB for 4 minutes); `BundleDataset` cuts the same crops from it with numpy and torch only (no
datasets, no pyarrow), and `ValidationDataset.from_bundle` builds the validation set from one.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from mixwave_hf.audio import LEVELLING_METHODS, apply_gains_db, level_tracks, resample
from mixwave_hf.data.schema import TARGETS, decode_audio, segment_of
from mixwave_hf.mixing import arrange_tracks
from mixwave_hf.slots import DEFAULT_SLOTS, fed_slots, match_slot

if TYPE_CHECKING:
    from mixwave_hf.model import MixWaveUNet

logger = logging.getLogger(__name__)

#: The layout version of `state_dict()`; states of another version are refused.
STATE_VERSION = 1
#: Marks our states inside a DataLoader's state, so that `LoaderStats.from_state` can find them.
STATE_KIND = "mixwave_hf.crops"
BUNDLE_FORMAT = "mixwave-hf-bundle"
BUNDLE_VERSION = 1
BUNDLE_DTYPES = ("int16", "float16", "float32")
INT16_FULL_SCALE = 32767.0


@dataclass(frozen=True)
class CropConfig:
    """What a crop is: slots, sample rate, window lengths in samples, target, crops per segment, gain.

    `input_samples` / `output_samples` must be a valid pair of the model (`model.valid_lengths`);
    the defaults are the paper network's 121,843 -> 89,093 samples at 44.1 kHz (`for_model` derives
    them from any model). `gain_db`: per-track input gain range (±dB) of training crops, 0 for none.
    `levelling`: the model's input levelling (`audio.track_level` method, None for none): every
    segment's tracks are brought to `levelling_lufs` by `audio.level_tracks` before crops are cut,
    as `mix_tracks` does for a song. Levelling cancels any input gain, so gain augmentation would only
    change the crops' levels after it: with levelling, `gain_db` must be 0.
    """

    slot_names: tuple[str, ...] = DEFAULT_SLOTS
    sample_rate: int = 44_100
    input_samples: int = 121_843
    output_samples: int = 89_093
    target: str = "wet"
    crops_per_segment: int = 8
    gain_db: float = 6.0
    min_segment_seconds: float = 1.0
    levelling: str | None = None
    levelling_lufs: float = -30.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "slot_names", tuple(self.slot_names))
        if self.levelling is not None and self.levelling not in LEVELLING_METHODS:
            raise ValueError(f"levelling={self.levelling!r}; expected None or one of {LEVELLING_METHODS}")
        if self.levelling is not None and self.gain_db > 0:
            raise ValueError(
                f"gain_db={self.gain_db} with levelling={self.levelling!r}: the model levels every track "
                "before the network, so random input gains would only re-level the crops after it; "
                "set the gain augmentation to 0 (data.gain_db: 0, --set data.gain_db=0)"
            )
        if self.target not in TARGETS:
            raise ValueError(f"target={self.target!r}; expected one of {list(TARGETS)}")
        if not 0 < self.output_samples <= self.input_samples or (self.input_samples - self.output_samples) % 2:
            raise ValueError(
                f"input_samples={self.input_samples}, output_samples={self.output_samples}; expected a valid "
                "pair of the model (output <= input, even difference): use CropConfig.for_model(model)"
            )
        if self.crops_per_segment < 1:
            raise ValueError(f"crops_per_segment={self.crops_per_segment}; expected at least 1")
        if self.gain_db < 0 or self.min_segment_seconds < 0 or self.sample_rate <= 0:
            raise ValueError(f"gain_db={self.gain_db}, min_segment_seconds={self.min_segment_seconds}, "
                             f"sample_rate={self.sample_rate}; expected gain and seconds >= 0, a positive rate")
        if not self.slot_names or len(set(self.slot_names)) != len(self.slot_names):
            raise ValueError(f"slot_names={list(self.slot_names)}; expected distinct names, at least one")

    @classmethod
    def for_model(cls, model: MixWaveUNet, crop_output_samples: int = 88_200, **options: Any) -> CropConfig:
        """The model's slots and rate, and its shortest valid window with >= `crop_output_samples` outputs.

        The default 88,200 gives the paper's 121,843 -> 89,093 samples on the default model.
        `options` set the other fields (target, crops_per_segment, gain_db, min_segment_seconds); the
        levelling is the model's (gain_db then defaults to 0).
        """
        lengths = model.valid_lengths(crop_output_samples)
        levelling = getattr(model, "levelling", None)
        if levelling is not None:
            options.setdefault("gain_db", 0.0)
        return cls(slot_names=tuple(model.slot_names), sample_rate=model.sample_rate,
                   input_samples=lengths.input, output_samples=lengths.output, levelling=levelling,
                   levelling_lufs=getattr(model, "levelling_lufs", -30.0), **options)

    @property
    def context(self) -> int:
        """Input samples before (and after) the output window: output sample j is input sample j + context."""
        return (self.input_samples - self.output_samples) // 2

    @property
    def min_segment_samples(self) -> int:
        return int(round(self.min_segment_seconds * self.sample_rate))

    def start_range(self, length: int) -> tuple[int, int]:
        """Lowest and highest window start (segment samples) keeping the output inside a `length`-sample segment.

        The context may reach past the segment (silence there). If the segment is shorter than the
        output, the only start puts the output at the segment's start.
        """
        low = -self.context
        return low, max(low, length - self.context - self.output_samples)


@dataclass
class LoaderStats:
    """What a loader did: segments used, crops delivered, rows skipped by reason, track names ignored."""

    segments: int = 0
    crops: int = 0
    corrupt: int = 0  # rows whose audio did not decode (or held NaN/inf, or a target that is not stereo)
    missing_target: int = 0  # rows without the chosen target mix
    short: int = 0  # segments shorter than min_segment_seconds
    no_tracks: int = 0  # rows with no track matching any slot
    resampled: int = 0  # rows decoded at another sample rate and resampled
    duplicate_tracks: int = 0  # tracks ignored because an earlier track of the row had filled their slot
    unmatched_tracks: dict[str, int] = field(default_factory=dict)  # track name -> times ignored

    @property
    def skipped(self) -> int:
        return self.corrupt + self.missing_target + self.short + self.no_tracks

    def add(self, other: LoaderStats) -> LoaderStats:
        """The sum of two sets of counters."""
        total = LoaderStats(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                               for f in fields(self) if f.name != "unmatched_tracks"})
        total.unmatched_tracks = dict(Counter(self.unmatched_tracks) + Counter(other.unmatched_tracks))
        return total

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, counters: dict) -> LoaderStats:
        return cls(**{**counters, "unmatched_tracks": dict(counters.get("unmatched_tracks", {}))})

    @classmethod
    def from_state(cls, state: Any) -> LoaderStats:
        """The counters summed over every reader state found in `state` (ours, or a DataLoader's)."""
        total = cls()
        if isinstance(state, dict):
            if state.get("kind") == STATE_KIND:
                return cls.from_dict(state["stats"])
            for value in state.values():
                total = total.add(cls.from_state(value))
        elif isinstance(state, list | tuple):
            for value in state:
                total = total.add(cls.from_state(value))
        return total

    def summary(self) -> str:
        ignored = ", ".join(f"{name} x{count}" for name, count in sorted(self.unmatched_tracks.items()))
        return (f"{self.segments} segments, {self.crops} crops; skipped {self.corrupt} corrupt, "
                f"{self.missing_target} without the target, {self.short} short, {self.no_tracks} with no "
                f"matching track; {self.resampled} resampled; {self.duplicate_tracks} duplicate tracks ignored"
                + (f"; unmatched track names ignored: {ignored}" if ignored else ""))


@dataclass
class Segment:
    """One decoded segment: `tracks` [slots, samples] in slot order and `target` [2, samples], float32."""

    tracks: np.ndarray
    target: np.ndarray
    song_id: str
    segment_index: int
    metadata: dict = field(default_factory=dict)  # source, license, kit, ... (kept in bundles)

    @property
    def length(self) -> int:
        return self.tracks.shape[-1]


# ---- segments and crops: shared by the streaming loader, the bundle and the validation set ----------------

def segment_from_row(row: dict, config: CropConfig, stats: LoaderStats) -> Segment | None:
    """A dataset row (audio undecoded, see `schema.open_split`) -> its Segment, or None if skipped (counted).

    Only tracks that match a slot are decoded. Rows at another sample rate are resampled.
    """
    where = f"song {row.get('song_id')!r} segment {row.get('segment_index')}"
    target_entry = row.get(TARGETS[config.target])
    if target_entry is None:
        stats.missing_target += 1
        if stats.missing_target == 1:
            logger.warning("%s has no %s; skipping such rows (counted in stats.missing_target)",
                           where, TARGETS[config.target])
        return None
    names, entries = row.get("track_names") or [], row.get("tracks") or []
    if len(names) != len(entries):
        stats.corrupt += 1
        logger.warning("%s: skipped, %d track names for %d tracks", where, len(names), len(entries))
        return None
    chosen: dict[str, dict] = {}
    filled: set[str] = set()
    for name, entry in zip(names, entries, strict=True):
        slot = match_slot(name, config.slot_names)
        if slot is None:
            if name not in stats.unmatched_tracks:
                logger.warning("track %r (%s) matches no slot of %s; ignored", name, where, list(config.slot_names))
            stats.unmatched_tracks[name] = stats.unmatched_tracks.get(name, 0) + 1
            continue
        covers = set(fed_slots(slot))
        if covers & filled or name in chosen:
            stats.duplicate_tracks += 1
            continue
        filled |= covers
        chosen[name] = entry
    if not chosen:
        stats.no_tracks += 1
        return None
    # Anything can be wrong with a row's bytes (truncated FLAC, garbage, NaN samples, a mono target):
    # one bad row must cost a counter and a log line, never the training run.
    try:
        rate = None
        decoded = {}
        for name, entry in chosen.items():
            decoded[name], track_rate = decode_audio(entry)
            rate = rate or track_rate
            if track_rate != rate:
                raise ValueError(f"track {name!r} at {track_rate} Hz, others at {rate} Hz")
        tracks, _ = arrange_tracks(decoded, config.slot_names)
        target, target_rate = decode_audio(target_entry)
        if target.shape[0] != 2 or target_rate != rate:
            raise ValueError(f"target of {target.shape[0]} channel(s) at {target_rate} Hz; expected stereo "
                             f"at the tracks' {rate} Hz")
        if not np.isfinite(target).all():
            raise ValueError("target holds NaN or infinite samples")
    except Exception as error:  # any failure of this row: see above
        stats.corrupt += 1
        logger.warning("%s: skipped, audio does not decode (%s: %s); %d corrupt rows so far",
                       where, type(error).__name__, error, stats.corrupt)
        return None
    if rate != config.sample_rate:
        tracks, target = resample(tracks, rate, config.sample_rate), resample(target, rate, config.sample_rate)
        stats.resampled += 1
    length = max(tracks.shape[-1], target.shape[-1])
    metadata = {key: row[key] for key in ("source", "license", "kit", "engineer", "style", "seed") if key in row}
    return Segment(segment_of(tracks, 0, length), segment_of(target, 0, length),
                   str(row.get("song_id")), int(row.get("segment_index") or 0), metadata)


def levelled_segment(segment: Segment, config: CropConfig, known_gains: dict | None = None) -> Segment:
    """`segment` with its tracks levelled as the model levels its inputs (`config.levelling`), or as it is.

    `known_gains` ({(song_id, segment_index): gains dB}) keeps each segment's levelling gains: a segment
    read again (every epoch) is scaled by them instead of being measured again (~0.2 s per 30 s segment).
    """
    if config.levelling is None:
        return segment
    key = (segment.song_id, segment.segment_index)
    if known_gains is not None and key in known_gains:
        tracks = apply_gains_db(segment.tracks, known_gains[key])
    else:
        tracks, gains_db = level_tracks(segment.tracks, config.sample_rate, config.levelling,
                                        config.levelling_lufs, config.slot_names)
        if known_gains is not None:
            known_gains[key] = gains_db
    return Segment(tracks, segment.target, segment.song_id, segment.segment_index, segment.metadata)


def window(audio: np.ndarray, start: int, length: int) -> np.ndarray:
    """audio[:, start : start + length] as a new float32 array, silence where it reaches past either end."""
    out = np.zeros((audio.shape[0], length), np.float32)
    begin, end = max(start, 0), min(start + length, audio.shape[-1])
    if end > begin:
        out[:, begin - start : end - start] = audio[:, begin:end]
    return out


def cut_crop(segment: Segment, start: int, config: CropConfig, gains: np.ndarray | None = None) -> dict:
    """The crop whose input window starts at segment sample `start` (may be negative: silence before).

    Returns {"tracks": [slots, input_samples], "target": [2, output_samples]} float32 tensors, the
    target taken from `start + context`, with "song_id", "segment_index", "start". `gains`: linear
    per-slot gains applied to the tracks only.
    """
    tracks = window(segment.tracks, start, config.input_samples)
    if gains is not None:
        tracks *= gains[:, None].astype(np.float32)
    target = window(segment.target, start + config.context, config.output_samples)
    return {"tracks": torch.from_numpy(tracks), "target": torch.from_numpy(target),
            "song_id": segment.song_id, "segment_index": segment.segment_index, "start": int(start)}


def random_crops(segment: Segment, config: CropConfig, rng: np.random.Generator) -> list[tuple[int, np.ndarray]]:
    """`crops_per_segment` (start, per-slot linear gain) pairs drawn from `rng`."""
    low, high = config.start_range(segment.length)
    starts = rng.integers(low, high + 1, size=config.crops_per_segment)
    gains_db = rng.uniform(-config.gain_db, config.gain_db, size=(config.crops_per_segment, len(config.slot_names)))
    return list(zip(starts.tolist(), 10.0 ** (gains_db / 20.0), strict=True))


def evenly_spaced_starts(length: int, config: CropConfig, count: int) -> list[int]:
    """`count` window starts spread evenly over a `length`-sample segment (one, centred, if count is 1)."""
    low, high = config.start_range(length)
    if count == 1 or high == low:
        return [(low + high) // 2]
    return sorted({int(round(start)) for start in np.linspace(low, high, count)})


# ---- the training streams ------------------------------------------------------------------------------

def _reader(rank: int, world_size: int, worker: int, num_workers: int) -> tuple[int, int]:
    """(reader index, readers): reader rank * num_workers + worker of world_size * num_workers."""
    if not 0 <= worker < num_workers:
        raise ValueError(f"worker {worker} of {num_workers}; expected 0 <= worker < num_workers")
    return rank * num_workers + worker, world_size * num_workers


class _CropStream(IterableDataset):
    """Crops from a source of segments, sharded by reader; subclasses give the items and their segments."""

    def __init__(self, config: CropConfig, *, rank: int, world_size: int, shuffle: bool, seed: int,
                 shuffle_buffer_crops: int, repeat: bool) -> None:
        super().__init__()
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank={rank}, world_size={world_size}; expected 0 <= rank < world_size")
        if seed < 0:
            raise ValueError(f"seed={seed}; expected a non-negative integer")
        if shuffle_buffer_crops < 1:
            raise ValueError(f"shuffle_buffer_crops={shuffle_buffer_crops}; expected at least 1 (1: no crop buffer)")
        self.config = config
        self.rank, self.world_size = rank, world_size
        self.shuffle, self.seed = shuffle, seed
        self.shuffle_buffer_crops = shuffle_buffer_crops
        self.repeat = repeat
        self.epoch = 0
        self.stats = LoaderStats()
        self._levelling_gains: dict[tuple[str, int], np.ndarray] = {}  # see levelled_segment
        self._resume: dict | None = None
        self._position: dict | None = None  # where the running iteration is, see state_dict()

    # Subclasses: the items of one reader's pass in order, each with the source state after it, and
    # the segment of an item (None if skipped, counted in self.stats).
    def _items(self, reader: int, readers: int, epoch: int, source_state: Any) -> Iterator[tuple[Any, Any]]:
        raise NotImplementedError

    def _segment(self, item: Any) -> Segment | None:
        raise NotImplementedError

    def set_epoch(self, epoch: int) -> None:
        """Shuffle the next pass by `epoch` (with repeat=True, the first of the passes)."""
        if epoch < 0:
            raise ValueError(f"epoch={epoch}; expected a non-negative integer")
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[dict]:
        info = get_worker_info()
        return self.iter_worker(info.id, info.num_workers) if info is not None else self.iter_worker(0, 1)

    def iter_worker(self, worker: int, num_workers: int) -> Iterator[dict]:
        """The crops DataLoader worker `worker` of `num_workers` (on this rank) yields."""
        reader, readers = _reader(self.rank, self.world_size, worker, num_workers)
        return self._iterate(reader, readers)

    def _iterate(self, reader: int, readers: int) -> Iterator[dict]:
        resume, self._resume = self._resume, None
        epoch, source_state, segments_read, crops_done = self.epoch, None, 0, 0
        if resume is not None:
            if resume["reader"] is not None and (resume["reader"], resume["readers"]) != (reader, readers):
                raise ValueError(
                    f"loader state saved by reader {resume['reader']} of {resume['readers']} (rank x DataLoader "
                    f"worker); this is reader {reader} of {readers}: resume with the same world_size and num_workers"
                )
            epoch, source_state = resume["epoch"], resume["source"]
            segments_read, crops_done = resume["segments_read"], resume["crops_done"]
        while True:
            whole_epoch = source_state is None and segments_read == 0
            delivered = yield from self._iterate_epoch(reader, readers, epoch, source_state, segments_read, crops_done)
            logger.info("reader %d/%d, epoch %d done: %s", reader, readers, epoch, self.stats.summary())
            epoch, source_state, segments_read, crops_done = epoch + 1, None, 0, 0
            self._position = self._state(reader, readers, epoch, None, 0, 0)
            if not self.repeat:
                return
            if whole_epoch and not delivered:  # repeating would spin forever without a crop
                raise RuntimeError(f"reader {reader} of {readers} found no usable segment in a whole epoch: "
                                   f"{self.stats.summary()}")

    def _iterate_epoch(self, reader: int, readers: int, epoch: int, source_state: Any, segments_read: int,
                       crops_done: int) -> Iterator[dict]:
        """One pass; returns the number of crops delivered (through `yield from`)."""
        config, delivered = self.config, 0
        buffer: list[dict] = []
        buffer_size = self.shuffle_buffer_crops if self.shuffle else 1
        picker = np.random.default_rng([self.seed, 1, epoch, reader, segments_read])
        self._position = self._state(reader, readers, epoch, source_state, segments_read, crops_done)
        for item, state_after in self._items(reader, readers, epoch, source_state):
            number, segments_read = segments_read, segments_read + 1
            segment = self._segment(item)
            if segment is not None and segment.length < config.min_segment_samples:
                self.stats.short += 1
                segment = None
            if segment is None:
                self._position = self._state(reader, readers, epoch, state_after, segments_read, 0)
                source_state, crops_done = state_after, 0
                continue
            if crops_done == 0:  # a segment resumed part way was counted before the checkpoint
                self.stats.segments += 1
            segment = levelled_segment(segment, config, self._levelling_gains)
            rng = np.random.default_rng([self.seed, 0, epoch, reader, number])
            crops = random_crops(segment, config, rng)
            for index in range(crops_done, len(crops)):
                start, gains = crops[index]
                crop = cut_crop(segment, start, config, gains if config.gain_db > 0 else None)
                last = index == len(crops) - 1
                if buffer_size > 1:
                    buffer.append(crop)
                    if len(buffer) < buffer_size:
                        continue
                    crop = buffer.pop(_swap_index(buffer, picker))
                # The position after this crop: within this segment, or past it once its last crop is out
                # (with a crop buffer, the buffered crops are given up on resume, as documented).
                if last or buffer_size > 1:
                    self._position = self._state(reader, readers, epoch, state_after, segments_read, 0)
                else:
                    self._position = self._state(reader, readers, epoch, source_state, number, index + 1)
                self.stats.crops += 1
                delivered += 1
                yield crop
            crops_done = 0
            source_state = state_after
        while buffer:
            self.stats.crops += 1
            delivered += 1
            yield buffer.pop(_swap_index(buffer, picker))
        return delivered

    @staticmethod
    def _state(reader: int | None, readers: int | None, epoch: int, source: Any, segments_read: int,
               crops_done: int) -> dict:
        return {"reader": reader, "readers": readers, "epoch": epoch, "source": source,
                "segments_read": segments_read, "crops_done": crops_done}

    def state_dict(self) -> dict:
        """Where this reader is: resume with `load_state_dict` (see the module docstring)."""
        position = self._position or self._resume or self._state(None, None, self.epoch, None, 0, 0)
        return {"kind": STATE_KIND, "version": STATE_VERSION, **copy.deepcopy(position),
                "stats": self.stats.as_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Continue from `state` (from `state_dict`) at the next iteration, at its epoch and position."""
        if not isinstance(state, dict) or state.get("kind") != STATE_KIND or state.get("version") != STATE_VERSION:
            found = (state.get("kind"), state.get("version")) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"loader state {found}; expected a state_dict() of kind {STATE_KIND!r}, "
                             f"version {STATE_VERSION}")
        self._resume = {key: copy.deepcopy(state[key])
                        for key in ("reader", "readers", "epoch", "source", "segments_read", "crops_done")}
        self._position = None
        self.epoch = state["epoch"]
        self.stats = LoaderStats.from_dict(state["stats"])

    def __getstate__(self) -> dict:
        # DataLoader workers get a copy before iterating: without the running position of the parent.
        return {**self.__dict__, "_position": None}


def _swap_index(buffer: list, rng: np.random.Generator) -> int:
    """A random index of `buffer`, whose element is first swapped to the end so that pop() is O(1)."""
    index = int(rng.integers(len(buffer)))
    buffer[index], buffer[-1] = buffer[-1], buffer[index]
    return len(buffer) - 1


class StreamingDataset(_CropStream):
    """Training crops streamed from a multitrack dataset (a local folder or a Hub repo id), sharded by reader.

    Args:
        path_or_repo_id: what `datasets.load_dataset` accepts: "org/name" on the Hub or a local folder.
        split: the split to stream ("train").
        config: the crops (see CropConfig; `CropConfig.for_model(model)`).
        rank, world_size: this process and the number of processes (Accelerate:
            `accelerator.process_index`, `accelerator.num_processes`).
        shuffle: shuffle shards, rows and crops; False gives a fixed order, exactly resumable.
        seed: seeds shuffling, crop positions and gains (with the epoch and the reader).
        shuffle_buffer_segments: undecoded rows in datasets' shuffle buffer (~22 MB each for 30 s).
        shuffle_buffer_crops: crops in the crop shuffle buffer (4.6 MB each at the default size).
        repeat: start the next epoch when one ends, forever (step-based training).

    Yields {"tracks": [slots, input] float32, "target": [2, output] float32, "song_id": str,
    "segment_index": int, "start": int (input window start in segment samples)}.
    """

    def __init__(self, path_or_repo_id: str | os.PathLike, split: str = "train", config: CropConfig | None = None,
                 *, rank: int = 0, world_size: int = 1, shuffle: bool = True, seed: int = 0,
                 shuffle_buffer_segments: int = 8, shuffle_buffer_crops: int = 32, repeat: bool = False) -> None:
        from mixwave_hf.data.schema import open_split  # imports datasets

        super().__init__(config or CropConfig(), rank=rank, world_size=world_size, shuffle=shuffle, seed=seed,
                         shuffle_buffer_crops=shuffle_buffer_crops, repeat=repeat)
        if shuffle_buffer_segments < 1:
            raise ValueError(f"shuffle_buffer_segments={shuffle_buffer_segments}; expected at least 1")
        self.path_or_repo_id, self.split = str(path_or_repo_id), split
        self.shuffle_buffer_segments = shuffle_buffer_segments
        self.dataset = open_split(self.path_or_repo_id, split, streaming=True)
        self._shards_for(rank, world_size)  # fails now, not in a worker, if even one reader per rank is too many

    @property
    def num_shards(self) -> int:
        """Parquet shards (files) of the split."""
        return self.dataset.num_shards

    def _shards_for(self, reader: int, readers: int):
        """This reader's part of the split: every `readers`-th file, or row group if files do not divide evenly."""
        shards = self.dataset.num_shards
        if shards % readers == 0:
            return self.dataset.shard(num_shards=readers, index=reader, contiguous=False)
        resharded = self.dataset.reshard()
        if resharded.num_shards < readers:
            raise ValueError(
                f"{self.path_or_repo_id} split {self.split!r}: {shards} parquet shards ({resharded.num_shards} row "
                f"groups) for {readers} readers (world_size {self.world_size} x DataLoader workers): every reader "
                f"needs its own shards. Write the split with a multiple of {readers} shards, or use fewer workers"
            )
        _warn_once(f"{self.path_or_repo_id}/{self.split}/{readers}",
                   f"{self.path_or_repo_id} split {self.split!r}: {shards} parquet shards is not a multiple of "
                   f"{readers} readers (world_size x DataLoader workers); sharding by row group instead "
                   f"({resharded.num_shards} row groups, some readers get one more than others)")
        return resharded.shard(num_shards=readers, index=reader, contiguous=False)

    def _items(self, reader: int, readers: int, epoch: int, source_state: Any) -> Iterator[tuple[dict, Any]]:
        part = self._shards_for(reader, readers)
        if self.shuffle:
            seed = int(np.random.SeedSequence([self.seed, reader]).generate_state(1)[0])
            # One shard feeds the buffer at a time (shard order is shuffled per epoch): reading several at
            # once runs a thread per shard, and datasets then sleeps 5 s whenever such a pass ends or is
            # dropped (a pyarrow shutdown workaround). The schema's writer deals rows out round robin, so
            # each shard already holds every song.
            part = part.shuffle(seed=seed, buffer_size=self.shuffle_buffer_segments, max_buffer_input_shards=1)
            part.set_epoch(epoch)  # without shuffle, datasets would still reorder the shards by epoch
        if source_state is not None:
            part.load_state_dict(source_state)
        # .iter(), not iter(part): inside a DataLoader worker, datasets would split these shards among
        # the workers a second time.
        for batch in part.iter(batch_size=1):
            yield {key: values[0] for key, values in batch.items()}, part.state_dict()

    def _segment(self, item: dict) -> Segment | None:
        return segment_from_row(item, self.config, self.stats)


_warned: set[str] = set()


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, stacklevel=3)


# ---- bundles: pre-decoded segments in one .npz, read with numpy alone -------------------------------------

def export_bundle(path_or_repo_id: str | os.PathLike, split: str, out_file: str | os.PathLike,
                  config: CropConfig | None = None, *, dtype: str = "int16", max_segments: int | None = None,
                  max_seconds_per_segment: float | None = None, progress: bool = True) -> dict:
    """Decode a split's segments (in slot order, with `config.target`) into one .npz; returns its index.

    Rows are read in order and skipped as by the streaming loader (counted in the index's "stats").
    `dtype`: "int16" (scaled per segment and channel by its peak: ~96 dB below each channel's peak),
    "float16" or "float32" (exact). `max_segments` / `max_seconds_per_segment` keep the bundle small
    (each segment cut to its first seconds). The file is written under a temporary name and renamed.
    """
    from tqdm.auto import tqdm

    from mixwave_hf.data.schema import open_split  # imports datasets

    config = config or CropConfig()
    if dtype not in BUNDLE_DTYPES:
        raise ValueError(f"dtype={dtype!r}; expected one of {BUNDLE_DTYPES}")
    limit = None if max_seconds_per_segment is None else int(round(max_seconds_per_segment * config.sample_rate))
    stats = LoaderStats()
    segments: list[Segment] = []  # metadata only: the audio goes to `parts` at the stored dtype at once
    parts: list[np.ndarray] = []
    scales: list[np.ndarray] = []
    rows = open_split(str(path_or_repo_id), split, streaming=True)
    for row in tqdm(rows, desc=f"bundle {split}", unit="segment", disable=not progress):
        segment = segment_from_row(row, config, stats)
        if segment is not None and segment.length < config.min_segment_samples:
            stats.short += 1
            segment = None
        if segment is None:
            continue
        if limit is not None:
            segment.tracks, segment.target = segment.tracks[:, :limit], segment.target[:, :limit]
        stats.segments += 1
        part, scale = _stored(np.concatenate([segment.tracks, segment.target]), dtype)
        parts.append(part)
        scales.append(scale)
        segment.tracks = np.zeros((segment.tracks.shape[0], 0), np.float32)  # not a view: frees the audio
        segment.target = np.zeros((segment.target.shape[0], 0), np.float32)
        segment.metadata["samples"] = part.shape[-1]
        segments.append(segment)
        if max_segments is not None and len(segments) >= max_segments:
            break
    if not segments:
        raise ValueError(f"{path_or_repo_id} split {split!r}: no usable segment ({stats.summary()})")

    offsets = np.cumsum([0] + [part.shape[-1] for part in parts])
    stored = np.concatenate(parts, axis=1)
    del parts
    index = {
        "format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "source": str(path_or_repo_id), "split": split,
        "slot_names": list(config.slot_names), "sample_rate": config.sample_rate, "target": config.target,
        "dtype": dtype, "stats": stats.as_dict(),
        "segments": [{"song_id": s.song_id, "segment_index": s.segment_index, **s.metadata} for s in segments],
    }
    out_file = Path(out_file)
    partial = out_file.with_name(f".{out_file.name}.partial")
    with open(partial, "wb") as file:
        np.savez(file, audio=stored, offsets=offsets.astype(np.int64), scales=np.stack(scales),
                 index=np.frombuffer(json.dumps(index).encode(), np.uint8))
    partial.replace(out_file)
    logger.info("wrote %s: %s", out_file, stats.summary())
    return index


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
            self.index = json.loads(arrays["index"].tobytes())
            if self.index.get("format") != BUNDLE_FORMAT or self.index.get("version", 0) > BUNDLE_VERSION:
                found = f"format {self.index.get('format')!r} version {self.index.get('version')}"
                raise ValueError(f"{file}: {found}; expected {BUNDLE_FORMAT!r} up to version {BUNDLE_VERSION} "
                                 "(written by export_bundle)")
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


def read_bundle(file: str | os.PathLike) -> tuple[dict, list[Segment]]:
    """A bundle written by `export_bundle` -> (its index, its segments as float32); numpy only.

    Holds the whole bundle as float32: `BundleSegments` decodes one segment at a time instead."""
    bundle = BundleSegments(file)
    return bundle.index, list(bundle)


def _bundle_config(index: dict, config: CropConfig | None, file: str | os.PathLike) -> CropConfig:
    """`config` checked against the bundle (slots, rate, target), or the bundle's with default lengths."""
    bundled = {"slot_names": tuple(index["slot_names"]), "sample_rate": index["sample_rate"], "target": index["target"]}
    if config is None:
        return CropConfig(**bundled)
    asked = {key: getattr(config, key) for key in bundled}
    if asked != bundled:
        raise ValueError(f"{file}: bundle of {bundled}; the crop config asks for {asked}: export a bundle "
                         "for this config (export_bundle(..., config=config))")
    return config


class BundleDataset(_CropStream):
    """Training crops from a bundle (`export_bundle`): the streaming loader's crops, gains and state, numpy only.

    Segments are split among readers (rank x DataLoader worker) by striding a per-epoch permutation
    (or, unshuffled, the bundle's order). Arguments as StreamingDataset; `config` defaults to the
    bundle's slots, rate and target with the default window.
    """

    def __init__(self, file: str | os.PathLike, config: CropConfig | None = None, *, rank: int = 0,
                 world_size: int = 1, shuffle: bool = True, seed: int = 0, shuffle_buffer_crops: int = 32,
                 repeat: bool = False) -> None:
        self.file = str(file)
        self.segments = BundleSegments(file)
        self.index = self.segments.index
        super().__init__(_bundle_config(self.index, config, file), rank=rank, world_size=world_size,
                         shuffle=shuffle, seed=seed, shuffle_buffer_crops=shuffle_buffer_crops, repeat=repeat)

    def _items(self, reader: int, readers: int, epoch: int, source_state: Any) -> Iterator[tuple[int, Any]]:
        if len(self.segments) < readers:
            raise ValueError(f"{self.file}: {len(self.segments)} segments for {readers} readers (world_size x "
                             "DataLoader workers); every reader needs at least one: use fewer workers")
        count = len(self.segments)
        order = np.random.default_rng([self.seed, 2, epoch]).permutation(count) if self.shuffle else np.arange(count)
        mine = order[reader::readers].tolist()
        position = 0 if source_state is None else source_state["position"]
        for number in range(position, len(mine)):
            yield mine[number], {"position": number + 1}

    def _segment(self, item: int) -> Segment:
        return self.segments[item]


# ---- the validation set --------------------------------------------------------------------------------

class ValidationDataset(Dataset):
    """A fixed, map-style set of validation crops: evenly spaced windows per segment, no gain, in memory.

    Built once from segments in order; `crops_per_segment` windows each, at most `max_crops` in all.
    Items are those of the training streams. Memory: 4.6 MB per default-size crop.
    """

    def __init__(self, segments: Iterable[Segment], config: CropConfig | None = None, *,
                 crops_per_segment: int = 2, max_crops: int = 64, stats: LoaderStats | None = None) -> None:
        if crops_per_segment < 1 or max_crops < 1:
            raise ValueError(f"crops_per_segment={crops_per_segment}, max_crops={max_crops}; expected at least 1")
        self.config = config or CropConfig()
        self.stats = stats or LoaderStats()
        self.crops: list[dict] = []
        for segment in segments:
            if len(self.crops) >= max_crops:
                break
            if segment.length < self.config.min_segment_samples:
                self.stats.short += 1
                continue
            self.stats.segments += 1
            segment = levelled_segment(segment, self.config)
            for start in evenly_spaced_starts(segment.length, self.config, crops_per_segment):
                if len(self.crops) < max_crops:
                    self.crops.append(cut_crop(segment, start, self.config))
        self.stats.crops = len(self.crops)
        if not self.crops:
            raise ValueError(f"no validation crop: {self.stats.summary()}")

    @classmethod
    def from_split(cls, path_or_repo_id: str | os.PathLike, split: str = "validation",
                   config: CropConfig | None = None, **options: Any) -> ValidationDataset:
        """Stream `split` in order and keep its first crops (options: crops_per_segment, max_crops)."""
        from mixwave_hf.data.schema import open_split  # imports datasets

        config, stats = config or CropConfig(), LoaderStats()
        rows = open_split(str(path_or_repo_id), split, streaming=True)
        segments = (segment for segment in (segment_from_row(row, config, stats) for row in rows) if segment)
        return cls(segments, config, stats=stats, **options)

    @classmethod
    def from_bundle(cls, file: str | os.PathLike, config: CropConfig | None = None,
                    **options: Any) -> ValidationDataset:
        """The validation set from a bundle (`export_bundle` of the validation split); numpy only."""
        segments = BundleSegments(file)
        return cls(iter(segments), _bundle_config(segments.index, config, file), **options)

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, item: int) -> dict:
        return self.crops[item]


__all__ = [
    "BundleDataset", "BundleSegments", "CropConfig", "LoaderStats", "Segment", "StreamingDataset", "ValidationDataset",
    "cut_crop", "evenly_spaced_starts", "export_bundle", "levelled_segment", "random_crops", "read_bundle",
    "segment_from_row",
]
