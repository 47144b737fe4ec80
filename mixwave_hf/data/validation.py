"""`ValidationDataset`: a fixed, map-style set of validation crops (evenly spaced, no gain), held in memory;
`ValidationOptions`: how many.

    validation = ValidationDataset.from_split("org/drums", "validation", config, ValidationOptions(max_crops=64))
    validation = ValidationDataset.from_bundle("validation.npz", config)  # numpy only
    loader = accelerator.prepare(torch.utils.data.DataLoader(validation, batch_size=8))

Unlike the training readers it is meant for `accelerator.prepare` (see docs/data-loading.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from torch.utils.data import Dataset

from mixwave_hf.data.bundle import BundleSegments, bundle_crop_config
from mixwave_hf.data.checks import check_at_least
from mixwave_hf.data.crops import (
    CropConfig,
    LoaderStats,
    Segment,
    cut_crop,
    evenly_spaced_starts,
    levelled_segment,
    long_enough_segment,
    segment_from_row,
)


@dataclass(frozen=True)
class ValidationOptions:
    """How many validation crops: evenly spaced windows per segment, and in all. Checked when made."""

    crops_per_segment: int = field(default=2, metadata={"help": "evenly spaced windows per validation segment"})
    max_crops: int = field(default=64, metadata={"help": "validation crops in all (4.6 MB each at the default size)"})

    def __post_init__(self) -> None:
        check_at_least(1, crops_per_segment=self.crops_per_segment, max_crops=self.max_crops)


class ValidationDataset(Dataset):
    """A fixed, map-style set of validation crops: evenly spaced windows per segment, no gain, in memory.

    Built once from segments in order; `options.crops_per_segment` windows each, at most `options.max_crops`
    in all. Items are those of the training streams. Memory: 4.6 MB per default-size crop.
    """

    def __init__(self, segments: Iterable[Segment], config: CropConfig | None = None,
                 options: ValidationOptions | None = None, *, stats: LoaderStats | None = None) -> None:
        options = options or ValidationOptions()
        self.config = config or CropConfig()
        self.stats = stats or LoaderStats()
        self.crops: list[dict] = []
        for segment in segments:
            if len(self.crops) >= options.max_crops:
                break
            if long_enough_segment(segment, self.config, self.stats) is None:
                continue
            self.stats.segments += 1
            segment = levelled_segment(segment, self.config)
            for start in evenly_spaced_starts(segment.length, self.config, options.crops_per_segment):
                if len(self.crops) < options.max_crops:
                    self.crops.append(cut_crop(segment, start, self.config))
        self.stats.crops = len(self.crops)
        if not self.crops:
            raise ValueError(f"no validation crop: {self.stats.summary()}")

    @classmethod
    def from_split(cls, path_or_repo_id: str | os.PathLike, split: str = "validation",
                   config: CropConfig | None = None, options: ValidationOptions | None = None) -> ValidationDataset:
        """Stream `split` in order and keep its first crops."""
        from mixwave_hf.data.schema import open_split  # imports datasets

        config, stats = config or CropConfig(), LoaderStats()
        rows = open_split(str(path_or_repo_id), split, streaming=True)
        segments = (segment for segment in (segment_from_row(row, config, stats) for row in rows) if segment)
        return cls(segments, config, options, stats=stats)

    @classmethod
    def from_bundle(cls, file: str | os.PathLike, config: CropConfig | None = None,
                    options: ValidationOptions | None = None) -> ValidationDataset:
        """The validation set from a bundle (`export_bundle` of the validation split); numpy only."""
        segments = BundleSegments(file)
        return cls(iter(segments), bundle_crop_config(segments.index, config, file), options)

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, item: int) -> dict:
        return self.crops[item]

