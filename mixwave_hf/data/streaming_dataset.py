"""`StreamingDataset`: training crops streamed from a multitrack dataset (a folder or a Hub repo id).

    crops = StreamingDataset("org/drums", "train", CropConfig.for_model(model.config), rank=0, world_size=1,
                             repeat=True)
    loader = torch.utils.data.DataLoader(crops, batch_size=16, num_workers=4)
    batch = next(iter(loader))  # {"tracks": [16, 8, 121843], "target": [16, 2, 89093], ...} float32

Each reader (rank x DataLoader worker) reads its own parquet shards; docs/data-loading.md explains
sharding, Accelerate, shuffling and resuming.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from mixwave_hf.data.crops import CropConfig, Segment, segment_from_row
from mixwave_hf.data.schema import DatasetError
from mixwave_hf.data.sharded import ShardedCropDataset, StreamingOptions


class StreamingDataset(ShardedCropDataset):
    """Training crops streamed from a multitrack dataset (a local folder or a Hub repo id), sharded by reader.

    Args:
        path_or_repo_id: what `datasets.load_dataset` accepts: "org/name" on the Hub or a local folder.
        split: the split to stream ("train").
        config: the crops (see CropConfig; `CropConfig.for_model(model.config)`).
        options: shuffling, seed and buffers (`StreamingOptions`; `UNSHUFFLED`: a fixed order, exactly
            resumable).
        rank, world_size: this process and the number of processes (Accelerate:
            `accelerator.process_index`, `accelerator.num_processes`).
        repeat: start the next epoch when one ends, forever (step-based training).

    Yields {"tracks": [slots, input] float32, "target": [2, output] float32, "song_id": str,
    "segment_index": int, "start": int (input window start in segment samples)}.
    """

    def __init__(self, path_or_repo_id: str | os.PathLike, split: str = "train", config: CropConfig | None = None,
                 options: StreamingOptions | None = None, *, rank: int = 0, world_size: int = 1,
                 repeat: bool = False) -> None:
        from mixwave_hf.data.schema import open_split  # imports datasets

        super().__init__(config or CropConfig(), options or StreamingOptions(), rank=rank, world_size=world_size,
                         repeat=repeat)
        self.path_or_repo_id, self.split = str(path_or_repo_id), split
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
            raise DatasetError(
                f"{self.path_or_repo_id} split {self.split!r}: {shards} parquet shards ({resharded.num_shards} row "
                f"groups) for {readers} readers (world_size {self.world_size} x DataLoader workers): every reader "
                f"needs its own shards. Write the split with a multiple of {readers} shards, or use fewer workers"
            )
        _warn_once(f"{self.path_or_repo_id}/{self.split}/{readers}",
                   f"{self.path_or_repo_id} split {self.split!r}: {shards} parquet shards is not a multiple of "
                   f"{readers} readers (world_size x DataLoader workers); sharding by row group instead "
                   f"({resharded.num_shards} row groups, some readers get one more than others)")
        return resharded.shard(num_shards=readers, index=reader, contiguous=False)

    def _items(self, reader: int, readers: int, epoch: int, source: Any) -> Iterator[tuple[dict, Any]]:
        part = self._shards_for(reader, readers)
        if self.shuffle:
            seed = int(np.random.SeedSequence([self.seed, reader]).generate_state(1)[0])
            # One shard feeds the buffer at a time (shard order is shuffled per epoch): reading several at
            # once runs a thread per shard, and datasets then sleeps 5 s whenever such a pass ends or is
            # dropped (a pyarrow shutdown workaround). The schema's writer deals rows out round robin, so
            # each shard already holds every song.
            part = part.shuffle(seed=seed, buffer_size=self.options.shuffle_buffer_segments, max_buffer_input_shards=1)
            part.set_epoch(epoch)  # without shuffle, datasets would still reorder the shards by epoch
        if source is not None:
            part.load_state_dict(source)
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
