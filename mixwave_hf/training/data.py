"""Where a run's crops come from: a dataset (folder or Hub repo, streamed) or bundles; the balance fit.

    crops = training_crops(DataSource(bundle="train.npz"), config.crop_config(), config.data, 0, 1)
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mixwave_hf.data.loader import (
    BundleDataset,
    BundleSegments,
    CropConfig,
    LoaderStats,
    Segment,
    ValidationDataset,
    read_bundle_index,
    segment_from_row,
)
from mixwave_hf.loudness import integrated_loudness, level_tracks
from mixwave_hf.model import MixWaveUNet
from mixwave_hf.training.config import DataOptions

#: Training segments (the first ones, in order) that `model.balance_gain_db: null` is fitted on.
BALANCE_FIT_SEGMENTS = 64


#: A bundle's index (`read_bundle_index`), read once per file: the card and the Hub metadata ask for it.
bundle_index = functools.lru_cache(maxsize=4)(read_bundle_index)


@dataclass(frozen=True)
class DataSource:
    """Where crops come from: a dataset folder / Hub repo id, or a training bundle (+ a validation bundle)."""

    dataset: str | None = None
    bundle: str | None = None
    validation_bundle: str | None = None

    def describe(self, config: DataOptions) -> str:
        """E.g. "org/drums (split train)" or "bundle train.npz (org/drums, split train)", for the card."""
        if self.dataset is not None:
            return f"{self.dataset} (split {config.train_split})"
        index = bundle_index(self.bundle)
        return f"bundle {Path(self.bundle).name} ({index.get('source')}, split {index.get('split')})"

    def hub_datasets(self) -> list[str]:
        """The Hub dataset ids trained on, for the card's metadata: the dataset when it is a Hub id."""
        name = self.dataset if self.dataset is not None else str(bundle_index(self.bundle).get("source", ""))
        return [name] if re.fullmatch(r"[\w.-]+/[\w.-]+", name) and not Path(name).exists() else []


def training_crops(source: DataSource, crop_config: CropConfig, options: DataOptions, rank: int,
                   world_size: int) -> torch.utils.data.IterableDataset:
    """This process's endless stream of training crops (imports `datasets` only for a dataset source)."""
    if source.bundle is not None:
        return BundleDataset(source.bundle, crop_config, options.streaming, rank=rank, world_size=world_size,
                             repeat=True)
    from mixwave_hf.data.loader import StreamingDataset

    return StreamingDataset(source.dataset, options.train_split, crop_config, options.streaming, rank=rank,
                            world_size=world_size, repeat=True)


def first_training_segments(source: DataSource, crop_config: CropConfig, options: DataOptions,
                            count: int = BALANCE_FIT_SEGMENTS) -> list[Segment]:
    """The first `count` segments of the training data, in order, unlevelled: of the bundle, or read from
    the train split as the loaders read it (rows that do not decode are skipped)."""
    if source.bundle is not None:
        bundle = BundleSegments(source.bundle)
        return [bundle[number] for number in range(min(count, len(bundle)))]
    from mixwave_hf.data.schema import open_split  # imports datasets

    rows = open_split(source.dataset, options.train_split, streaming=True)
    segments = (segment_from_row(row, crop_config, LoaderStats()) for row in rows)
    return list(itertools.islice((segment for segment in segments if segment is not None), count))


def fit_balance_gain_db(segments: Iterable[Segment], model: MixWaveUNet) -> float:
    """The `balance_gain_db` (dB) that brings `model`'s static mix to the loudness of the targets.

    Per segment (tracks [slots, samples] in the model's slot order, target [2, samples], both at the
    model's rate): the tracks levelled as the model levels them (`level_tracks` with its levelling and
    levelling_lufs), mixed by its static balance at 0 dB (`static_mix_weights`), then target LUFS minus
    mix LUFS (`integrated_loudness`). Returns the median over segments; silent targets or mixes are
    skipped, ValueError if all are. The model needs output_init="balance".
    """
    weights = (model.static_mix_weights() * 10 ** (-model.balance_gain_db / 20)).numpy()
    differences = []
    for segment in segments:
        tracks = segment.tracks
        if model.levelling is not None:
            tracks, _ = level_tracks(tracks, model.sample_rate, model.levelling, model.levelling_lufs, model.slot_names)
        target = integrated_loudness(segment.target, model.sample_rate)
        mix = integrated_loudness(weights @ tracks, model.sample_rate)
        if math.isfinite(target) and math.isfinite(mix):
            differences.append(target - mix)
    if not differences:
        raise ValueError("no segment with an audible target and static mix to fit model.balance_gain_db on; "
                         "set a number instead of null")
    return float(np.median(differences))


def validation_crops(source: DataSource, crop_config: CropConfig, options: DataOptions) -> ValidationDataset:
    """The fixed validation set: the dataset's validation split, or the validation bundle."""
    if source.dataset is not None:
        return ValidationDataset.from_split(source.dataset, options.validation_split, crop_config, options.validation)
    return ValidationDataset.from_bundle(source.validation_bundle, crop_config, options.validation)
