"""The base of the training readers: crops from a source of segments, split among readers, resumable.

    class MyCrops(ShardedCropDataset):  # give the items of one reader's pass, and the segment of an item
        def _items(self, reader, readers, epoch, source): ...
        def _segment(self, item): ...

`StreamingDataset` and `BundleDataset` are the two readers; docs/data-loading.md explains sharding,
shuffling, resuming (`ReadPosition`) and counting.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
from torch.utils.data import IterableDataset, get_worker_info

from mixwave_hf.data.checks import check_at_least
from mixwave_hf.data.crops import (
    CropConfig,
    LoaderStats,
    Segment,
    cut_crop,
    levelled_segment,
    long_enough_segment,
    random_crops,
)
from mixwave_hf.data.read_position import STATE_KIND, STATE_VERSION, ReadPosition

logger = logging.getLogger(__name__)


def _reader_of(rank: int, world_size: int, worker: int, num_workers: int) -> tuple[int, int]:
    """(reader index, readers): reader rank * num_workers + worker of world_size * num_workers."""
    if not 0 <= worker < num_workers:
        raise ValueError(f"worker {worker} of {num_workers}; expected 0 <= worker < num_workers")
    return rank * num_workers + worker, world_size * num_workers


@dataclass(frozen=True)
class StreamingOptions:
    """How a training reader orders its crops (`StreamingDataset`, `BundleDataset`). Checked when made."""

    shuffle: bool = field(default=True, metadata={"help": (
        "shuffle shards, rows and crops; false: a fixed order, exactly resumable")})
    seed: int = field(default=0, metadata={"help": "seeds shuffling, crop positions and gains (with epoch and reader)"})
    shuffle_buffer_segments: int = field(default=8, metadata={"help": (
        "undecoded rows in the dataset's shuffle buffer (~22 MB each for 30 s segments; not used by bundles)")})
    shuffle_buffer_crops: int = field(default=32, metadata={"help": (
        "crops in the crop shuffle buffer (4.6 MB each at the default size; 1: no crop buffer)")})

    def __post_init__(self) -> None:
        if not isinstance(self.shuffle, bool):
            raise ValueError(f"shuffle={self.shuffle!r}; expected true or false")
        check_at_least(0, seed=self.seed)
        check_at_least(1, shuffle_buffer_segments=self.shuffle_buffer_segments,
                       shuffle_buffer_crops=self.shuffle_buffer_crops)


#: No shuffling: every reader reads its part in order (exactly resumable); tests and benchmarks.
UNSHUFFLED = StreamingOptions(shuffle=False)


class ShardedCropDataset(IterableDataset):
    """Crops from a source of segments, sharded by reader; subclasses give the items and their segments."""

    def __init__(self, config: CropConfig, options: StreamingOptions, *, rank: int, world_size: int,
                 repeat: bool) -> None:
        super().__init__()
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank={rank}, world_size={world_size}; expected 0 <= rank < world_size")
        self.config, self.options = config, options
        self.rank, self.world_size = rank, world_size
        self.repeat = repeat
        self.epoch = 0
        self.stats = LoaderStats()
        self._levelling_gains: dict[tuple[str, int], np.ndarray] = {}  # see levelled_segment
        self._resume: ReadPosition | None = None  # from load_state_dict, taken by the next iteration
        self._position: ReadPosition | None = None  # where the running iteration is, see state_dict()

    @property
    def shuffle(self) -> bool:
        """`options.shuffle`."""
        return self.options.shuffle

    @property
    def seed(self) -> int:
        """`options.seed`."""
        return self.options.seed

    # Subclasses: the items of one reader's pass in order, each with the source's position after it
    # (`source`: where to continue, None for the pass's start), and the segment of an item (None if
    # skipped, counted in self.stats).
    def _items(self, reader: int, readers: int, epoch: int, source: Any) -> Iterator[tuple[Any, Any]]:
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
        reader, readers = _reader_of(self.rank, self.world_size, worker, num_workers)
        return self._iterate(reader, readers)

    def _iterate(self, reader: int, readers: int) -> Iterator[dict]:
        resume, self._resume = self._resume, None
        start = ReadPosition(reader, readers, self.epoch)
        if resume is not None:
            if resume.reader is not None and (resume.reader, resume.readers) != (reader, readers):
                raise ValueError(
                    f"loader state saved by reader {resume.reader} of {resume.readers} (rank x DataLoader "
                    f"worker); this is reader {reader} of {readers}: resume with the same world_size and num_workers"
                )
            start = replace(resume, reader=reader, readers=readers)
        while True:
            whole_epoch = start.source is None and start.segments_read == 0
            delivered = yield from self._iterate_epoch(start)
            logger.info("reader %d/%d, epoch %d done: %s", reader, readers, start.epoch, self.stats.summary())
            start = ReadPosition(reader, readers, start.epoch + 1)
            self._position = start
            if not self.repeat:
                return
            if whole_epoch and not delivered:  # repeating would spin forever without a crop
                raise RuntimeError(f"reader {reader} of {readers} found no usable segment in a whole epoch: "
                                   f"{self.stats.summary()}")

    def _iterate_epoch(self, start: ReadPosition) -> Iterator[dict]:
        """One pass from `start`; returns the number of crops delivered (through `yield from`)."""
        config, delivered = self.config, 0
        reader, readers, epoch = start.reader, start.readers, start.epoch
        source, segments_read, crops_done = start.source, start.segments_read, start.crops_done
        at = partial(ReadPosition, reader, readers, epoch)  # a position in this pass
        buffer: list[dict] = []
        buffer_size = self.options.shuffle_buffer_crops if self.shuffle else 1
        picker = np.random.default_rng([self.seed, 1, epoch, reader, segments_read])
        self._position = start
        for item, source_after in self._items(reader, readers, epoch, source):
            number, segments_read = segments_read, segments_read + 1
            segment = long_enough_segment(self._segment(item), config, self.stats)
            if segment is None:
                self._position = at(source_after, segments_read)
                source, crops_done = source_after, 0
                continue
            if crops_done == 0:  # a segment resumed part way was counted before the checkpoint
                self.stats.segments += 1
            segment = levelled_segment(segment, config, self._levelling_gains)
            rng = np.random.default_rng([self.seed, 0, epoch, reader, number])
            crops = random_crops(segment, config, rng)
            for index in range(crops_done, len(crops)):
                crop_start, gains = crops[index]
                crop = cut_crop(segment, crop_start, config, gains if config.gain_db > 0 else None)
                last = index == len(crops) - 1
                if buffer_size > 1:
                    buffer.append(crop)
                    if len(buffer) < buffer_size:
                        continue
                    crop = buffer.pop(_swap_index(buffer, picker))
                # The position after this crop: within this segment, or past it once its last crop is out
                # (with a crop buffer, the buffered crops are given up on resume, as documented).
                if last or buffer_size > 1:
                    self._position = at(source_after, segments_read)
                else:
                    self._position = at(source, number, index + 1)
                self.stats.crops += 1
                delivered += 1
                yield crop
            crops_done = 0
            source = source_after
        while buffer:
            self.stats.crops += 1
            delivered += 1
            yield buffer.pop(_swap_index(buffer, picker))
        return delivered

    def state_dict(self) -> dict:
        """Where this reader is: resume with `load_state_dict` (see docs/data-loading.md, "Resuming")."""
        position = self._position or self._resume or ReadPosition(None, None, self.epoch)
        return {"kind": STATE_KIND, "version": STATE_VERSION, **position.as_state(), "stats": self.stats.as_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Continue from `state` (from `state_dict`) at the next iteration, at its epoch and position."""
        if not isinstance(state, dict) or state.get("kind") != STATE_KIND or state.get("version") != STATE_VERSION:
            found = (state.get("kind"), state.get("version")) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"loader state {found}; expected a state_dict() of kind {STATE_KIND!r}, "
                             f"version {STATE_VERSION}")
        self._resume = ReadPosition.from_state(state)
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
