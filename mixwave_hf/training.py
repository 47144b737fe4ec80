"""Training the Mix-Wave-U-Net with Accelerate: step-based, resumable, on one device or many processes.

    accelerate launch train_accelerate.py --dataset org/drums --output-dir runs/paper            # N GPUs
    python train_accelerate.py --bundle train.npz --validation-bundle validation.npz \\
        --config configs/train_cpu_small.yaml --output-dir runs/cpu                               # one device

The configuration (YAML, read with `yaml.safe_load`) holds the model, data, optimizer, schedule,
loss, training and card options (`TrainingConfig`; configs/train_default.yaml is the paper recipe
with every option written out); command-line flags and `--set section.option=value` override it.

Data. Each process streams its own crops: `StreamingDataset` (a dataset folder or Hub repo, the
`datasets` library imported only then) or `BundleDataset` (one .npz: torch and numpy only), with
`rank=accelerator.process_index, world_size=accelerator.num_processes`, through torchdata's
`StatefulDataLoader`. That loader is NOT given to `accelerator.prepare`: Accelerate would shard the
already sharded stream a second time and drop data (see `mixwave_hf.data.loader`). The validation
set (`ValidationDataset`, map-style, fixed) is prepared, and scored with `gather_for_metrics`.

A step is one optimizer update: `gradient_accumulation_steps` batches of `batch_size` crops on each
process, so `batch_size x processes x gradient_accumulation_steps` crops. The learning rate follows
`WarmupDecay` (linear warmup, then cosine or exponential decay, or constant), stepped once per step
whatever the number of processes (Accelerate's own scheduler wrapper would step it once per process).

Output folder:

    OUTPUT_DIR/config.yaml                 the resolved configuration (reusable with --config)
    OUTPUT_DIR/logs/mixwave/               TensorBoard: loss, lr, grad norm, throughput, validation, config
    OUTPUT_DIR/checkpoints/checkpoint_N/   `accelerator.save_state` at step N (model, optimizer, scheduler,
                                           RNG, EMA, progress) + `loader-{rank}.pt` (each process's data
                                           position) + `mixwave-checkpoint.json` (written last: complete)
    OUTPUT_DIR/best/                       best validation (`stereo_stft_loudness_matched`): save_pretrained
                                           folder with a model card carrying the training record, and
                                           training.json (the card's options, read by `mixwave push`)
    OUTPUT_DIR/final/                      the same for the weights at the end of training

With `training.ema_decay` set (the default), the weights validated, saved and pushed are an
exponential moving average of the trained ones (both are in the checkpoints).

`--resume` continues from the newest complete checkpoint with the same number of processes and
loader workers: weights, optimizer, schedule, EMA, RNG, the best figure so far, and each process's
position in its data stream (unshuffled data resumes with exactly the crops that would have come next).

Fine-tuning. `--init-from MODEL` (`training.init_from`: "default", a model folder or a Hub model id)
starts a fresh run from that model's weights, and its config.json is the model section: options the
config sets must equal the model's. `model.balance_gain_db: null` (with `output_init: balance`) is
fitted on the training data before the model is built (`fit_balance_gain_db`).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import inspect
import itertools
import json
import logging
import math
import os
import platform
import re
import shlex
import shutil
import sys
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from mixwave_hf.audio import integrated_loudness, level_tracks
from mixwave_hf.data.loader import (
    BundleDataset,
    BundleSegments,
    CropConfig,
    LoaderStats,
    Segment,
    ValidationDataset,
    segment_from_row,
)
from mixwave_hf.data.schema import TARGETS
from mixwave_hf.metrics import HEADLINE_METRIC, STFT_FFT_SIZES, l1_distance, loudness_matched_stereo_stft_distance
from mixwave_hf.model import MixWaveUNet

logger = logging.getLogger(__name__)

#: Written last into a checkpoint folder, by the main process once every process has saved: a folder
#: without it was cut short (a killed run) and is never resumed from.
CHECKPOINT_MARKER = "mixwave-checkpoint.json"
TRACKER_PROJECT = "mixwave"
LR_DECAYS = ("cosine", "exponential", "constant")
OPTIMIZERS = ("adam", "adamw")
MIXED_PRECISIONS = ("no", "fp16", "bf16")
#: Validation figures, in the order they are reported; the first is the one the best model is chosen by.
VALIDATION_METRICS = (HEADLINE_METRIC, "l1")
#: `training.init_from` naming the model embedded in the package (`MixWaveUNet.from_pretrained()`).
DEFAULT_INIT = "default"
#: Training segments (the first ones, in order) that `model.balance_gain_db: null` is fitted on.
BALANCE_FIT_SEGMENTS = 64


class ConfigError(ValueError):
    """A configuration or command line that cannot be used; the message names the option."""


# ---- configuration ------------------------------------------------------------------------------------

def _model_defaults() -> dict[str, Any]:
    """MixWaveUNet's constructor defaults (the paper network), as plain YAML values."""
    parameters = inspect.signature(MixWaveUNet.__init__).parameters
    return {name: list(parameter.default) if isinstance(parameter.default, tuple) else parameter.default
            for name, parameter in parameters.items() if name not in ("self", "format_version")}


@dataclass
class DataOptions:
    """Crops and loaders. Sample counts at the model's rate; `crop_output_samples` is rounded up to a
    valid window (88,200 gives the paper's 121,843 -> 89,093 samples); 22,050 = 0.5 s suits CPUs.
    `gain_db` (random per-track input gain, ±dB) is 0 unless given when the model levels its inputs."""

    target: str = "wet"
    train_split: str = "train"
    validation_split: str = "validation"
    crop_output_samples: int = 88_200
    crops_per_segment: int = 8
    gain_db: float = 6.0
    min_segment_seconds: float = 1.0
    shuffle: bool = True
    seed: int = 0
    shuffle_buffer_segments: int = 8
    shuffle_buffer_crops: int = 32
    num_workers: int = 0
    validation_crops_per_segment: int = 2
    validation_max_crops: int = 64

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ConfigError(f"data.target={self.target!r}; expected one of {list(TARGETS)}")
        _check_positive("data", crop_output_samples=self.crop_output_samples, crops_per_segment=self.crops_per_segment,
                        shuffle_buffer_segments=self.shuffle_buffer_segments,
                        shuffle_buffer_crops=self.shuffle_buffer_crops,
                        validation_crops_per_segment=self.validation_crops_per_segment,
                        validation_max_crops=self.validation_max_crops)
        _check_not_negative("data", gain_db=self.gain_db, min_segment_seconds=self.min_segment_seconds,
                            seed=self.seed, num_workers=self.num_workers)


@dataclass
class OptimizerOptions:
    """Adam (the paper: lr 1e-4) or AdamW; `max_grad_norm` clips the global gradient norm (null: no clipping)."""

    name: str = "adam"
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    max_grad_norm: float | None = 1.0

    def __post_init__(self) -> None:
        self.betas = tuple(self.betas)
        if self.name not in OPTIMIZERS:
            raise ConfigError(f"optimizer.name={self.name!r}; expected one of {list(OPTIMIZERS)}")
        if len(self.betas) != 2 or not all(0 <= beta < 1 for beta in self.betas):
            raise ConfigError(f"optimizer.betas={list(self.betas)}; expected two numbers in [0, 1)")
        _check_positive("optimizer", lr=self.lr)
        _check_not_negative("optimizer", weight_decay=self.weight_decay)
        if self.max_grad_norm is not None:
            _check_positive("optimizer", max_grad_norm=self.max_grad_norm)


@dataclass
class ScheduleOptions:
    """Linear warmup over `warmup_steps`, then `decay` over `decay_steps` (null: the rest of the run)
    down to `min_lr_ratio` x lr (cosine, exponential) or none (constant)."""

    warmup_steps: int = 1000
    decay: str = "cosine"
    decay_steps: int | None = None
    min_lr_ratio: float = 0.1

    def __post_init__(self) -> None:
        if self.decay not in LR_DECAYS:
            raise ConfigError(f"schedule.decay={self.decay!r}; expected one of {list(LR_DECAYS)}")
        _check_not_negative("schedule", warmup_steps=self.warmup_steps)
        if self.decay_steps is not None:
            _check_positive("schedule", decay_steps=self.decay_steps)
        if not 0 < self.min_lr_ratio <= 1:
            raise ConfigError(f"schedule.min_lr_ratio={self.min_lr_ratio}; expected a ratio in (0, 1]")


@dataclass
class LossOptions:
    """Weights of the waveform L1 (the paper's loss) and of the stereo multi-resolution STFT loss on
    sum and difference (auraloss, FFT sizes of `metrics.STFT_FFT_SIZES`); at least one positive."""

    l1: float = 1.0
    stft: float = 0.0

    def __post_init__(self) -> None:
        _check_not_negative("loss", l1=self.l1, stft=self.stft)
        if self.l1 == 0 and self.stft == 0:
            raise ConfigError("loss: l1 and stft are both 0; expected at least one positive weight")


@dataclass
class RunOptions:
    """Steps (optimizer updates), crops per process and batch, precision (null: Accelerate's own setting,
    e.g. `accelerate launch --mixed_precision`), EMA decay (null: no EMA), and how often to log,
    validate and checkpoint (in steps; 0: never validate / only checkpoint at the end). `init_from`:
    the model a fresh run starts from ("default", a model folder or a Hub model id; null: random weights)."""

    steps: int = 200_000
    batch_size: int = 16
    gradient_accumulation_steps: int = 1
    mixed_precision: str | None = None
    ema_decay: float | None = 0.999
    seed: int = 0
    log_every: int = 50
    validate_every: int = 2000
    checkpoint_every: int = 2000
    checkpoints_kept: int = 3
    init_from: str | None = None

    def __post_init__(self) -> None:
        if self.init_from is not None and (not isinstance(self.init_from, str) or not self.init_from.strip()):
            raise ConfigError(f"training.init_from={self.init_from!r}; expected {DEFAULT_INIT!r}, a model folder "
                              "or a Hub model id, or null for random initial weights")
        _check_positive("training", steps=self.steps, batch_size=self.batch_size, log_every=self.log_every,
                        gradient_accumulation_steps=self.gradient_accumulation_steps,
                        checkpoints_kept=self.checkpoints_kept)
        _check_not_negative("training", seed=self.seed, validate_every=self.validate_every,
                            checkpoint_every=self.checkpoint_every)
        if self.mixed_precision is not None and self.mixed_precision not in MIXED_PRECISIONS:
            raise ConfigError(f"training.mixed_precision={self.mixed_precision!r}; expected one of "
                              f"{list(MIXED_PRECISIONS)} or null (Accelerate's setting)")
        if self.ema_decay is not None and not 0 < self.ema_decay < 1:
            raise ConfigError(f"training.ema_decay={self.ema_decay}; expected a decay in (0, 1), or null for no EMA")


@dataclass
class CardOptions:
    """The model card's licence of the weights (their data's, where it binds), a note on the data's
    licences, Hub dataset ids (null: the training dataset when it is a Hub id) and `synthetic_only`."""

    license: str = "other"
    data_licenses: str = ""
    datasets: list[str] | None = None
    synthetic_only: bool = False


SECTIONS = {"data": DataOptions, "optimizer": OptimizerOptions, "schedule": ScheduleOptions, "loss": LossOptions,
            "training": RunOptions, "card": CardOptions}


@dataclass
class TrainingConfig:
    """Everything a run is configured by; `model` holds MixWaveUNet's arguments (default: the paper network,
    or with `training.init_from` that model's config; `balance_gain_db` None: to be fitted on the data)."""

    model: dict[str, Any] = field(default_factory=_model_defaults)
    data: DataOptions = field(default_factory=DataOptions)
    optimizer: OptimizerOptions = field(default_factory=OptimizerOptions)
    schedule: ScheduleOptions = field(default_factory=ScheduleOptions)
    loss: LossOptions = field(default_factory=LossOptions)
    training: RunOptions = field(default_factory=RunOptions)
    card: CardOptions = field(default_factory=CardOptions)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> TrainingConfig:
        """A config from nested mappings (as in the YAML file); missing options keep their defaults.

        ConfigError names an unknown section or option, or a bad value.
        """
        values = dict(values or {})
        unknown = set(values) - {"model", *SECTIONS}
        if unknown:
            raise ConfigError(f"unknown config section(s) {sorted(unknown)}; expected some of "
                              f"{['model', *SECTIONS]}")
        sections = {}
        for name, section in SECTIONS.items():
            options = _mapping(values.get(name), name, {option.name: None for option in fields(section)})
            try:
                sections[name] = section(**options)
            except TypeError as error:  # a wrong type that the checks trip over, e.g. a string for a number
                raise ConfigError(f"{name}: {error}") from error
        given = _mapping(values.get("model"), "model", _model_defaults())
        init_from = sections["training"].init_from
        model = _init_model_section(init_from, given) if init_from else {**_model_defaults(), **given}
        _check_model_section(model)
        if model["levelling"] is not None and "gain_db" not in (values.get("data") or {}):
            # levelling cancels input gains: the augmentation defaults to none (a gain given explicitly is refused)
            sections["data"] = replace(sections["data"], gain_db=0.0)
        try:  # the crops' own check of the data options against the model's levelling
            CropConfig(levelling=model["levelling"], gain_db=sections["data"].gain_db)
        except ValueError as error:
            raise ConfigError(f"data: {error}") from error
        return cls(model=model, **sections)

    def as_dict(self) -> dict[str, Any]:
        """Plain nested dicts and lists, as written to config.yaml."""
        return json.loads(json.dumps(asdict(self)))


def _check_model_section(model: Mapping[str, Any]) -> None:
    """ConfigError unless MixWaveUNet accepts `model` (with balance_gain_db None: once it is fitted)."""
    if model["balance_gain_db"] is None and model["output_init"] != "balance":
        raise ConfigError(f"model.balance_gain_db: null (fitted on the training data) goes with model.output_init: "
                          f"balance; this config has output_init {model['output_init']!r}: set a number instead")
    try:
        # Its own checks name the bad argument; a gain still to be fitted is checked as 0 dB.
        MixWaveUNet(**{**model, "balance_gain_db": model["balance_gain_db"] or 0.0})
    except (TypeError, ValueError) as error:
        raise ConfigError(f"model: {error}") from error


def load_init_model(name: str) -> MixWaveUNet:
    """The model `training.init_from` names: "default" (the one embedded in the package), a save_pretrained
    folder or a Hub model id. ConfigError naming `name` when it cannot be loaded."""
    where = f"training.init_from={name!r} (--init-from)"
    if name != DEFAULT_INIT and not Path(name).exists() and not re.fullmatch(r"[\w.-]+/[\w.-]+", name):
        raise ConfigError(f"{where}: no such folder, and not a Hub model id; expected {DEFAULT_INIT!r}, "
                          "a folder written by save_pretrained (e.g. OUTPUT_DIR/best) or a Hub id org/name")
    if Path(name).exists() and not (Path(name) / "config.json").is_file():
        raise ConfigError(f"{where}: {name} holds no config.json; expected a folder written by save_pretrained "
                          "(e.g. OUTPUT_DIR/best of a training run)")
    try:
        return MixWaveUNet.from_pretrained(None if name == DEFAULT_INIT else name)
    except (OSError, ValueError) as error:  # not found, offline, mismatched or too new a checkpoint
        raise ConfigError(f"{where}: the model does not load: {error}") from error


def _init_model_section(init_from: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The model section of a run fine-tuning `init_from`: that model's config; ConfigError naming every option
    of `given` (the config file, --set) that differs from it."""
    saved = load_init_model(init_from)._hub_mixin_config
    model = {name: _plain(saved.get(name, default)) for name, default in _model_defaults().items()}
    conflicts = [f"model.{name}={value!r} here, {model[name]!r} in the model" for name, value in given.items()
                 if _plain(value) != model[name]]
    if conflicts:
        raise ConfigError(f"training.init_from={init_from!r}: the architecture and initialisation come from that "
                          f"model, and the config disagrees with it: {'; '.join(conflicts)}. Leave these options "
                          "out of the config (a config without a model section, or the model's own values)")
    return model


def _plain(value: Any) -> Any:
    """`value` as YAML and JSON hold it (tuples as lists), for comparing options."""
    return json.loads(json.dumps(value))


def _mapping(values: Any, name: str, accepted: Mapping[str, Any]) -> dict[str, Any]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise ConfigError(f"{name}: {values!r}; expected a mapping of options ({', '.join(accepted)})")
    unknown = set(values) - set(accepted)
    if unknown:
        raise ConfigError(f"{name}: unknown option(s) {sorted(unknown)}; expected some of {list(accepted)}")
    return dict(values)


def _check_positive(section: str, **values: float) -> None:
    for name, value in values.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"{section}.{name}={value!r}; expected a positive number")


def _check_not_negative(section: str, **values: float) -> None:
    for name, value in values.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{section}.{name}={value!r}; expected a number >= 0")


def load_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The nested options of a YAML config file (safe_load: plain data only, never code)."""
    try:
        values = yaml.safe_load(Path(path).read_text())
    except OSError as error:
        raise ConfigError(f"--config {path}: {error.strerror or error}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"--config {path}: not plain YAML ({error})") from error
    if values is not None and not isinstance(values, dict):
        raise ConfigError(f"--config {path}: a {type(values).__name__}; expected a mapping of sections "
                          f"({['model', *SECTIONS]})")
    return values or {}


def set_option(values: dict[str, Any], key: str, value: Any) -> None:
    """Set `values[section][option]` from a dotted key "section.option"."""
    section, _, option = key.partition(".")
    if not option or "." in option:
        raise ConfigError(f"{key!r}: expected section.option, e.g. training.steps")
    target = values.setdefault(section, {})
    if not isinstance(target, dict):
        raise ConfigError(f"{key!r}: config section {section!r} is not a mapping")
    target[option] = value


def parse_assignment(text: str) -> tuple[str, Any]:
    """ "section.option=value" -> (key, value), the value read as YAML (numbers, true/false, null, lists)."""
    key, equals, raw = text.partition("=")
    if not equals:
        raise ConfigError(f"--set {text!r}: expected section.option=value, e.g. training.steps=1000")
    try:
        return key.strip(), yaml.safe_load(raw)
    except yaml.YAMLError as error:
        raise ConfigError(f"--set {text!r}: the value is not plain YAML ({error})") from error


# ---- schedule, loss, EMA --------------------------------------------------------------------------------

@dataclass
class WarmupDecay:
    """Learning-rate multiplier of step k (0-based): (k+1)/warmup during warmup, then cosine or
    exponential decay to `min_ratio` over `decay_steps`, or constant. A callable object, not a function,
    so that LambdaLR's state_dict (and so the checkpoint) holds it."""

    warmup_steps: int
    decay_steps: int
    decay: str = "cosine"
    min_ratio: float = 0.1

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        progress = min(1.0, (step - self.warmup_steps) / max(1, self.decay_steps))
        if self.decay == "cosine":
            return self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
        if self.decay == "exponential":
            return self.min_ratio**progress
        return 1.0

    @classmethod
    def from_options(cls, options: ScheduleOptions, steps: int) -> WarmupDecay:
        decay_steps = options.decay_steps or max(1, steps - options.warmup_steps)
        return cls(options.warmup_steps, decay_steps, options.decay, options.min_lr_ratio)

    def describe(self, lr: float) -> str:
        warmup = f"linear warmup over {self.warmup_steps} steps, then " if self.warmup_steps else ""
        if self.decay == "constant":
            return f"{warmup}constant {lr:g}"
        return f"{warmup}{self.decay} decay from {lr:g} to {lr * self.min_ratio:g} over {self.decay_steps} steps"


class TrainingLoss(torch.nn.Module):
    """`l1` x mean |estimate - target| + `stft` x stereo multi-resolution STFT loss (sum and difference).

    forward([batch, 2, samples] estimate, target) -> (total loss, {"l1": ..., "stft": ...} of the terms used).
    Crops shorter than the largest FFT (8192) are zero-padded for the STFT term, as in the metric.
    """

    def __init__(self, l1: float = 1.0, stft: float = 0.0) -> None:
        super().__init__()
        self.weights = {name: weight for name, weight in (("l1", l1), ("stft", stft)) if weight > 0}
        if not self.weights:
            raise ValueError(f"loss weights l1={l1}, stft={stft}; expected at least one positive")
        self.stft = None
        if "stft" in self.weights:
            import auraloss

            self.stft = auraloss.freq.SumAndDifferenceSTFTLoss(
                fft_sizes=list(STFT_FFT_SIZES), hop_sizes=[size // 4 for size in STFT_FFT_SIZES],
                win_lengths=list(STFT_FFT_SIZES))

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        estimate, target = estimate.float(), target.float()  # STFTs and L1 in fp32 under mixed precision too
        terms = {}
        if "l1" in self.weights:
            terms["l1"] = torch.nn.functional.l1_loss(estimate, target)
        if self.stft is not None:
            # As metrics.stereo_stft_distance: crops shorter than the largest FFT are zero-padded to it.
            missing = max(STFT_FFT_SIZES) - estimate.shape[-1]
            if missing > 0:
                estimate, target = (torch.nn.functional.pad(audio, (0, missing)) for audio in (estimate, target))
            terms["stft"] = self.stft(estimate, target)
        total = sum(self.weights[name] * value for name, value in terms.items())
        return total, terms

    def describe(self) -> str:
        names = {"l1": "L1 (waveform)", "stft": "stereo multi-resolution STFT (sum and difference)"}
        return " + ".join(f"{weight:g} x {names[name]}" for name, weight in self.weights.items())


def exponential_moving_average(model: torch.nn.Module, decay: float) -> torch.optim.swa_utils.AveragedModel:
    """An EMA copy of `model` (torch's AveragedModel): update with `.update_parameters(model)` after each step."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


@dataclass
class TrainingProgress:
    """What a checkpoint must carry besides the model and optimizer: registered for checkpointing."""

    step: int = 0
    seconds: float = 0.0
    crops: int = 0
    best_value: float = math.inf
    best_step: int = -1
    best_scores: dict[str, float] = field(default_factory=dict)

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)


# ---- data --------------------------------------------------------------------------------------------

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
        index = _bundle_index(self.bundle)
        return f"bundle {Path(self.bundle).name} ({index.get('source')}, split {index.get('split')})"

    def hub_datasets(self) -> list[str]:
        """The Hub dataset ids trained on, for the card's metadata: the dataset when it is a Hub id."""
        name = self.dataset if self.dataset is not None else str(_bundle_index(self.bundle).get("source", ""))
        return [name] if re.fullmatch(r"[\w.-]+/[\w.-]+", name) and not Path(name).exists() else []


@functools.lru_cache(maxsize=4)
def _bundle_index(file: str) -> dict[str, Any]:
    """A bundle's index (what `export_bundle` recorded), without reading its audio."""
    with np.load(file, allow_pickle=False) as arrays:
        return json.loads(arrays["index"].tobytes())


def training_crops(source: DataSource, crop_config: CropConfig, options: DataOptions, rank: int,
                   world_size: int) -> torch.utils.data.IterableDataset:
    """This process's endless stream of training crops (imports `datasets` only for a dataset source)."""
    common = dict(rank=rank, world_size=world_size, shuffle=options.shuffle, seed=options.seed,
                  shuffle_buffer_crops=options.shuffle_buffer_crops, repeat=True)
    if source.bundle is not None:
        return BundleDataset(source.bundle, crop_config, **common)
    from mixwave_hf.data.loader import StreamingDataset

    return StreamingDataset(source.dataset, options.train_split, crop_config,
                            shuffle_buffer_segments=options.shuffle_buffer_segments, **common)


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
    sizes = dict(crops_per_segment=options.validation_crops_per_segment, max_crops=options.validation_max_crops)
    if source.dataset is not None:
        return ValidationDataset.from_split(source.dataset, options.validation_split, crop_config, **sizes)
    return ValidationDataset.from_bundle(source.validation_bundle, crop_config, **sizes)


# ---- checkpoints -------------------------------------------------------------------------------------

def checkpoint_folders(output_dir: Path) -> list[tuple[int, Path, bool]]:
    """(step, folder, complete) of every checkpoint_N folder, oldest first."""
    found = []
    for folder in (output_dir / "checkpoints").glob("checkpoint_*"):
        match = re.fullmatch(r"checkpoint_(\d+)", folder.name)
        if match and folder.is_dir():
            found.append((int(match.group(1)), folder, (folder / CHECKPOINT_MARKER).is_file()))
    return sorted(found)


def latest_checkpoint(output_dir: Path) -> Path | None:
    """The newest complete checkpoint folder, or None."""
    complete = [folder for _, folder, done in checkpoint_folders(output_dir) if done]
    return complete[-1] if complete else None


def _write_json(path: Path, values: Any) -> None:
    """Write JSON under a temporary name and rename it: readers never see half a file."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(values, indent=2, allow_nan=True) + "\n")
    partial.replace(path)


def parameter_checksum(module: torch.nn.Module) -> str:
    """SHA-256 of every tensor of `module.state_dict()` (names and bytes): equal iff the weights are bitwise equal."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


# ---- the run -----------------------------------------------------------------------------------------

def hardware_description(device: torch.device, processes: int) -> str:
    """E.g. "2 x NVIDIA H100 80GB HBM3" or "1 x CPU (AMD EPYC 7B13, 2 threads)"."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    elif device.type == "cpu":
        model_name = platform.processor() or platform.machine()
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    model_name = line.partition(":")[2].strip()
                    break
        except OSError:
            pass
        name = f"CPU ({model_name}, {torch.get_num_threads()} threads)"
    else:
        name = device.type
    return f"{processes} x {name}"


def _flat_hyperparameters(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config -> {"section/option": bool|int|float|str} for TensorBoard's hparams."""
    flat = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flat_hyperparameters(value, f"{name}/"))
        elif isinstance(value, bool | int | float | str):
            flat[name] = value
        else:  # lists and null: TensorBoard's hparams takes scalars and strings only
            flat[name] = json.dumps(value)
    return flat


@dataclass
class TrainingResult:
    """What a finished run reports: its step, the best validation (NaN without one) and its folders."""

    step: int
    best_value: float
    best_step: int
    best_dir: Path | None
    final_dir: Path
    hub_url: str | None = None


def train(config: TrainingConfig, source: DataSource, output_dir: str | os.PathLike, *, resume: bool = False,
          cpu: bool = False, push_to_hub: str | None = None, private: bool = False, record_crops: bool = False,
          progress: bool = True, command: str = "") -> TrainingResult:
    """Train a MixWaveUNet as configured, writing checkpoints, logs and models under `output_dir`.

    Run it in every process of an `accelerate launch` (or alone on one device). `resume`: continue
    from the newest complete checkpoint. `cpu`: force CPU processes (with `accelerate launch
    --multi_gpu --num_processes N`: N CPU processes over gloo). `push_to_hub`: upload the best
    model (or the final one, without validation) with `publish.push_model` at the end, from the main
    process. `record_crops`: each process writes `crops-rank{rank}.json` (the crops of each step and
    its final parameter checksum) for tests and debugging. `command`: the command line, for the card.
    """
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration, set_seed
    from torchdata.stateful_dataloader import StatefulDataLoader
    from tqdm.auto import tqdm

    output_dir = Path(output_dir)
    options = config.training
    resume_from = checkpoint_to_resume(output_dir, resume)
    if source.bundle is not None and options.validate_every and source.validation_bundle is None:
        raise ConfigError("--bundle trains without a validation set unless --validation-bundle FILE.npz is given "
                          "(export_bundle of the validation split); or set training.validate_every=0")
    accelerator = Accelerator(
        cpu=cpu,
        mixed_precision=options.mixed_precision,
        gradient_accumulation_steps=options.gradient_accumulation_steps,
        log_with="tensorboard",
        project_config=ProjectConfiguration(project_dir=str(output_dir), logging_dir=str(output_dir / "logs"),
                                            automatic_checkpoint_naming=True, total_limit=options.checkpoints_kept),
        # Each process streams its own shards (see the module docstring); batches are never dispatched.
        dataloader_config=DataLoaderConfiguration(dispatch_batches=False),
        # Steps are optimizer updates whatever the number of processes: we step the schedule ourselves,
        # once per update (Accelerate's wrapper would step it once per process).
        step_scheduler_with_optimizer=False,
    )
    rank, world_size, main_process = accelerator.process_index, accelerator.num_processes, accelerator.is_main_process

    fit_balance = config.model["balance_gain_db"] is None
    set_seed(options.seed)  # the same initial weights in every process
    model = MixWaveUNet(**({**config.model, "balance_gain_db": 0.0} if fit_balance else config.model))
    crop_config = _crop_config(model, config.data)
    try:  # the data does not fit the config (slots, target, shards for the readers, a missing split)
        crops = training_crops(source, crop_config, config.data, rank, world_size)
        validation_set = validation_crops(source, crop_config, config.data) if options.validate_every else None
        if fit_balance:  # every process fits the same value from the same segments
            gain_db = fit_balance_gain_db(first_training_segments(source, crop_config, config.data), model)
            config = replace(config, model={**config.model, "balance_gain_db": round(gain_db, 4)})
            if main_process:
                tqdm.write(f"model.balance_gain_db fitted on the training data: {gain_db:+.2f} dB")
            set_seed(options.seed)
            model = MixWaveUNet(**config.model)
    except ValueError as error:
        name = source.dataset or source.bundle
        raise ConfigError(str(error) if name in str(error) else f"{name}: {error}") from error
    if options.init_from and resume_from is None:  # resuming, the checkpoint holds the weights
        model.load_state_dict(load_init_model(options.init_from).state_dict())
    _prepare_output_dir(output_dir, config, resume_from is not None, accelerator)
    loader = StatefulDataLoader(crops, batch_size=options.batch_size, num_workers=config.data.num_workers,
                                pin_memory=accelerator.device.type == "cuda")
    validation = None
    if validation_set is not None:
        validation = accelerator.prepare(torch.utils.data.DataLoader(validation_set, batch_size=options.batch_size))

    optimizer_class = torch.optim.AdamW if config.optimizer.name == "adamw" else torch.optim.Adam
    optimizer = optimizer_class(model.parameters(), lr=config.optimizer.lr, betas=config.optimizer.betas,
                                weight_decay=config.optimizer.weight_decay)
    schedule = WarmupDecay.from_options(config.schedule, options.steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    # After the initial weights are in the model: the EMA starts as a copy of them.
    ema = exponential_moving_average(model, options.ema_decay) if options.ema_decay else None
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    if ema is not None:
        ema.to(accelerator.device)
    state = TrainingProgress()
    accelerator.register_for_checkpointing(state)
    if ema is not None:
        accelerator.register_for_checkpointing(ema)
    loss_function = TrainingLoss(config.loss.l1, config.loss.stft).to(accelerator.device)

    if resume_from is not None:
        _check_checkpoint_layout(resume_from, world_size, config.data.num_workers)
        accelerator.load_state(str(resume_from))
        loader.load_state_dict(torch.load(resume_from / f"loader-{rank}.pt", weights_only=True))
    start_step = state.step

    accelerator.init_trackers(TRACKER_PROJECT, config=_flat_hyperparameters(config.as_dict()))
    accelerator.log({"config": f"```yaml\n{yaml.safe_dump(config.as_dict(), sort_keys=False)}```",
                     "command": command}, step=start_step)
    crops_per_step = options.batch_size * world_size * options.gradient_accumulation_steps
    record = {"rank": rank, "world_size": world_size, "first_step": start_step + 1, "steps": {},
              "initial_parameter_sha256": parameter_checksum(accelerator.unwrap_model(model))} if record_crops else None
    context = _RunContext(config=config, source=source, output_dir=output_dir, accelerator=accelerator, model=model,
                          ema=ema, state=state, schedule=schedule, loss_function=loss_function, command=command,
                          crop_config=crop_config, crops_per_step=crops_per_step,
                          hub_datasets=source.hub_datasets() if main_process else [])
    if main_process:
        message = (f"resumed from {resume_from.name} at step {start_step}" if resume_from else
                   f"starting from {options.init_from}" if options.init_from else "starting")
        tqdm.write(f"{message}: {world_size} process(es) on {accelerator.device}, {crops_per_step} crops per step "
                   f"({options.batch_size} x {world_size} processes x {options.gradient_accumulation_steps} "
                   f"accumulation), crops of {crop_config.input_samples:,} -> {crop_config.output_samples:,} samples; "
                   f"{sum(p.numel() for p in model.parameters()):,} parameters; output in {output_dir}")

    batches = iter(loader)
    bar = tqdm(total=options.steps, initial=start_step, desc="training", unit="step", dynamic_ncols=True,
               disable=not (progress and main_process))
    window = _LossWindow(accelerator.device)
    clock = time.perf_counter()
    grad_norm = torch.zeros(())
    while state.step < options.steps:
        step_start = time.perf_counter()
        model.train()
        for _ in range(options.gradient_accumulation_steps):
            batch = next(batches)
            if record is not None:
                record["steps"].setdefault(str(state.step + 1), []).extend(
                    [song, int(segment), int(start)] for song, segment, start
                    in zip(batch["song_id"], batch["segment_index"], batch["start"], strict=True))
            tracks = batch["tracks"].to(accelerator.device, non_blocking=True)
            target = batch["target"].to(accelerator.device, non_blocking=True)
            with accelerator.accumulate(model):
                loss, terms = loss_function(model(tracks), target)
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    grad_norm = accelerator.clip_grad_norm_(model.parameters(),
                                                            config.optimizer.max_grad_norm or math.inf)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            window.add(loss, terms)
        scheduler.step()
        if ema is not None:
            ema.update_parameters(accelerator.unwrap_model(model))
        state.step += 1
        state.crops += crops_per_step
        window.add_step(crops_per_step, time.perf_counter() - step_start)
        bar.update(1)

        if state.step % options.log_every == 0 or state.step == options.steps:
            values = {**window.means(accelerator), "train/lr": scheduler.get_last_lr()[0],
                      "train/grad_norm": float(grad_norm)}
            accelerator.log(values, step=state.step)
            bar.set_postfix(loss=f"{values['train/loss']:.4g}", lr=f"{values['train/lr']:.3g}", refresh=False)
            window = _LossWindow(accelerator.device)
        last = state.step == options.steps
        if validation is not None and (state.step % options.validate_every == 0 or last):
            state.seconds += time.perf_counter() - clock
            clock = time.perf_counter()
            scores = validate(context.evaluated_model(), validation, accelerator, crop_config.sample_rate)
            context.report_validation(scores, loader, bar)
        if (options.checkpoint_every and state.step % options.checkpoint_every == 0) or last:
            state.seconds += time.perf_counter() - clock
            clock = time.perf_counter()
            save_checkpoint(accelerator, loader, state, output_dir, config.data.num_workers)
    bar.close()
    state.seconds += time.perf_counter() - clock

    final_dir = output_dir / "final"
    best_dir = output_dir / "best" if state.best_step >= 0 else None
    if main_process:
        final_scores = context.last_scores if context.last_scores_step == state.step else None
        context.save_model(final_dir, f"weights at the end of training (step {state.step})",
                           "validation", final_scores, state.step)
    if record is not None:
        record["parameter_sha256"] = parameter_checksum(accelerator.unwrap_model(model))
        record["ema_parameter_sha256"] = parameter_checksum(ema.module) if ema is not None else None
        record["validation_crops_scored"] = context.validation_crops_scored
        _write_json(output_dir / f"crops-rank{rank}.json", record)
    accelerator.wait_for_everyone()
    hub_url = None
    if push_to_hub and main_process:
        from mixwave_hf.publish import push_model

        hub_url = push_model(best_dir or final_dir, push_to_hub, private=private)
        tqdm.write(f"pushed {best_dir or final_dir} to {hub_url}")
    if main_process:
        best = (f"best {HEADLINE_METRIC} {state.best_value:.4g} at step {state.best_step} in {best_dir}"
                if best_dir else "no validation")
        tqdm.write(f"done: {state.step} steps, {state.seconds / 3600:.3g} h; {best}; final weights in {final_dir}")
    accelerator.end_training()
    return TrainingResult(state.step, state.best_value if best_dir else math.nan, state.best_step, best_dir,
                          final_dir, hub_url)


class _LossWindow:
    """Training losses and throughput since the last log point; losses summed on the device (no sync per step)."""

    def __init__(self, device: torch.device) -> None:
        self.total, self.terms, self.batches = torch.zeros((), device=device), {}, 0
        self.crops, self.seconds = 0, 0.0

    def add(self, loss: torch.Tensor, terms: Mapping[str, torch.Tensor]) -> None:
        """One batch's loss and its terms."""
        self.total += loss.detach()
        for name, value in terms.items():
            self.terms[name] = self.terms.get(name, 0.0) + value.detach()
        self.batches += 1

    def add_step(self, crops: int, seconds: float) -> None:
        """A finished step: crops trained on (all processes) and seconds spent (validation and saving excluded)."""
        self.crops += crops
        self.seconds += seconds

    def means(self, accelerator) -> dict[str, float]:
        """{"train/loss", "train/loss_l1", ...: mean over batches and processes, "train/crops_per_second"}.
        A collective operation: call in every process."""
        means = (accelerator.reduce(torch.stack([self.total, *self.terms.values()]), "mean") / self.batches).tolist()
        return {"train/loss": means[0],
                **{f"train/loss_{name}": value for name, value in zip(self.terms, means[1:], strict=True)},
                "train/crops_per_second": self.crops / max(self.seconds, 1e-9)}


def checkpoint_to_resume(output_dir: Path, resume: bool) -> Path | None:
    """The checkpoint `--resume` continues from, None for a fresh run; ConfigError if the folder disagrees."""
    if resume:
        checkpoint = latest_checkpoint(output_dir)
        if checkpoint is None:
            raise ConfigError(f"--resume: no complete checkpoint in {output_dir / 'checkpoints'}; start without "
                              "--resume (or check --output-dir)")
        return checkpoint
    checkpoints = checkpoint_folders(output_dir)
    if checkpoints:
        raise ConfigError(f"{output_dir} already holds a training run ({len(checkpoints)} checkpoint(s) in "
                          f"{output_dir / 'checkpoints'}): pass --resume to continue it, or use another --output-dir")
    return None


def _prepare_output_dir(output_dir: Path, config: TrainingConfig, resuming: bool, accelerator) -> None:
    """Drop cut-short checkpoints and write config.yaml (main process); call in every process, after every
    process has chosen its checkpoint (`checkpoint_to_resume`)."""
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        for _, folder, complete in checkpoint_folders(output_dir):
            if not complete:  # cut short by a kill; its number would collide with the next save
                logger.warning("removing %s: incomplete (no %s), the run was stopped while saving it",
                               folder, CHECKPOINT_MARKER)
                shutil.rmtree(folder)
        output_dir.mkdir(parents=True, exist_ok=True)
        config_file = output_dir / "config.yaml"
        if resuming and config_file.is_file():
            changed = _changed_options(yaml.safe_load(config_file.read_text()) or {}, config.as_dict())
            if changed:
                logger.warning("resuming with options changed since %s: %s", config_file, ", ".join(changed))
        config_file.write_text(yaml.safe_dump(config.as_dict(), sort_keys=False))
    accelerator.wait_for_everyone()


def _changed_options(before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = "") -> list[str]:
    changed = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            changed += _changed_options(old, new, f"{prefix}{key}.")
        elif old != new:
            changed.append(f"{prefix}{key}: {old!r} -> {new!r}")
    return changed


def _crop_config(model: MixWaveUNet, options: DataOptions) -> CropConfig:
    """The crops of `model` (its window, slots, rate, levelling) as `options` configure them; ConfigError
    where they disagree (gain augmentation with a levelled model)."""
    try:
        return CropConfig.for_model(model, options.crop_output_samples, target=options.target,
                                    crops_per_segment=options.crops_per_segment, gain_db=options.gain_db,
                                    min_segment_seconds=options.min_segment_seconds)
    except ValueError as error:
        raise ConfigError(f"data: {error}") from error


def _check_checkpoint_layout(checkpoint: Path, world_size: int, num_workers: int) -> None:
    saved = json.loads((checkpoint / CHECKPOINT_MARKER).read_text())
    if (saved["world_size"], saved["num_workers"]) != (world_size, num_workers):
        raise ConfigError(f"{checkpoint} was written by {saved['world_size']} process(es) with {saved['num_workers']} "
                          f"loader worker(s) each; this run has {world_size} and {num_workers}. Resume with the same "
                          "numbers: every process resumes its own data stream")


def save_checkpoint(accelerator, loader, state: TrainingProgress, output_dir: Path, num_workers: int) -> Path:
    """`accelerator.save_state` as checkpoints/checkpoint_{step}, each process's loader state beside it, then the
    completion marker. Call in every process."""
    folder = output_dir / "checkpoints" / f"checkpoint_{state.step}"
    if (folder / CHECKPOINT_MARKER).is_file():  # the last step was also a checkpoint step
        return folder
    accelerator.project_configuration.iteration = state.step  # name checkpoints by step, not by save count
    accelerator.save_state()
    # Accelerate's own dataloader state would be written by every process to one file; ours is per rank.
    torch.save(loader.state_dict(), folder / f"loader-{accelerator.process_index}.pt")
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        _write_json(folder / CHECKPOINT_MARKER, {"step": state.step, "world_size": accelerator.num_processes,
                                                 "num_workers": num_workers, "time": time.time()})
    accelerator.wait_for_everyone()
    return folder


def validate(model: torch.nn.Module, validation: Iterator[dict], accelerator, sample_rate: int) -> dict[str, float]:
    """Mean validation figures over the whole (prepared, sharded) validation set, the same in every process.

    Per crop: `metrics.loudness_matched_stereo_stft_distance` (the headline) and L1; NaN (a silent
    reference) is skipped in the means. Returns {metric: mean, ..., "crops": number scored}.
    """
    model.eval()
    rows = []
    with torch.no_grad(), accelerator.autocast():
        for batch in validation:
            estimates = model(batch["tracks"]).float().cpu().numpy()
            references = batch["target"].float().cpu().numpy()
            scores = [[loudness_matched_stereo_stft_distance(estimate, reference, sample_rate),
                       l1_distance(estimate, reference)]
                      for estimate, reference in zip(estimates, references, strict=True)]
            rows.append(accelerator.gather_for_metrics(
                torch.tensor(scores, dtype=torch.float64, device=accelerator.device)))
    table = torch.cat(rows).cpu().numpy()
    means = {name: float(np.nanmean(table[:, column])) if not np.isnan(table[:, column]).all() else math.nan
             for column, name in enumerate(VALIDATION_METRICS)}
    return {**means, "crops": int(table.shape[0])}


@dataclass
class _RunContext:
    """What reporting and saving models need of a running `train`."""

    config: TrainingConfig
    source: DataSource
    output_dir: Path
    accelerator: Any
    model: torch.nn.Module
    ema: Any
    state: TrainingProgress
    schedule: WarmupDecay
    loss_function: TrainingLoss
    command: str
    crop_config: CropConfig
    crops_per_step: int
    hub_datasets: list[str]
    validation_crops_scored: int = 0
    last_scores: dict[str, float] | None = None
    last_scores_step: int = -1

    def evaluated_model(self) -> MixWaveUNet:
        """The weights validated and published: the EMA when there is one."""
        return self.ema.module if self.ema is not None else self.accelerator.unwrap_model(self.model)

    def report_validation(self, scores: dict[str, float], loader, bar) -> None:
        state, accelerator = self.state, self.accelerator
        self.validation_crops_scored = scores["crops"]
        self.last_scores, self.last_scores_step = scores, state.step
        accelerator.log({f"validation/{name}": scores[name] for name in VALIDATION_METRICS}, step=state.step)
        value = scores[HEADLINE_METRIC]
        improved = not math.isnan(value) and value < state.best_value
        if improved:
            state.best_value, state.best_step = value, state.step
            state.best_scores = {name: scores[name] for name in VALIDATION_METRICS} | {"crops": scores["crops"]}
            if accelerator.is_main_process:
                self.save_model(self.output_dir / "best", f"best validation {HEADLINE_METRIC} (step {state.step})",
                                "best validation", state.best_scores, state.step)
        if accelerator.is_main_process:
            data = LoaderStats.from_state(loader.state_dict())
            bar.write(f"step {state.step}/{self.config.training.steps}: validation {HEADLINE_METRIC} {value:.4g}, "
                      f"L1 {scores['l1']:.4g} ({scores['crops']} crops){' *best*' if improved else ''}; best "
                      f"{state.best_value:.4g} at step {state.best_step}; {state.crops:,} crops trained, "
                      f"{(state.seconds / 3600):.3g} h; rank 0 data: {data.segments} segments, {data.skipped} skipped")

    def training_record(self, weights: str, validation_label: str = "", scores: Mapping[str, float] | None = None,
                        scores_step: int = 0) -> dict[str, Any]:
        """The card's training table (rendered by `card.render_model_card`), with the weights' validation
        `scores` (from `validate`) as the row `validation_label`."""
        config, state, accelerator = self.config, self.state, self.accelerator
        options = config.training
        crop = self.crop_config
        precision = {"no": "fp32", "fp16": "fp16 mixed precision", "bf16": "bf16 mixed precision"}
        record = {
            "dataset": self.source.describe(config.data),
            "target": f"{config.data.target} mix",
            "weights": weights + (f", exponential moving average (decay {options.ema_decay:g})" if self.ema else ""),
            "steps": f"{state.step:,} of {options.steps:,}",
            "batch": f"{self.crops_per_step} crops per step ({options.batch_size} per process x "
                     f"{accelerator.num_processes} process(es) x {options.gradient_accumulation_steps} accumulation)",
            "crops": f"{crop.input_samples:,} input -> {crop.output_samples:,} output samples "
                     f"({crop.output_samples / crop.sample_rate:.2f} s), {config.data.crops_per_segment} per segment, "
                     f"input gain ±{config.data.gain_db:g} dB",
            "loss": self.loss_function.describe(),
            "optimizer": f"{'AdamW' if config.optimizer.name == 'adamw' else 'Adam'} (betas "
                         f"{config.optimizer.betas[0]:g}, {config.optimizer.betas[1]:g}), "
                         f"{self.schedule.describe(config.optimizer.lr)}"
                         + (f", gradient norm clipped at {config.optimizer.max_grad_norm:g}"
                            if config.optimizer.max_grad_norm else ""),
            "precision": precision.get(accelerator.mixed_precision, accelerator.mixed_precision),
            "hours": f"{state.seconds / 3600:.3g}",
            "hardware": hardware_description(accelerator.device, accelerator.num_processes),
            "initial weights": _describe_init(options.init_from),
            "command": f"`{self.command}`" if self.command else "",
        }
        if scores:
            record[validation_label] = (
                f"{HEADLINE_METRIC} {scores[HEADLINE_METRIC]:.4g}, L1 {scores['l1']:.4g} at step {scores_step} "
                f"({scores['crops']} crops of "
                + (f"split {config.data.validation_split})" if self.source.dataset else
                   f"{Path(self.source.validation_bundle).name})"))
        return {key: value for key, value in record.items() if value != ""}

    def card_options(self, weights: str, validation_label: str = "", scores: Mapping[str, float] | None = None,
                     scores_step: int = 0) -> dict[str, Any]:
        """The `render_model_card` options, with the training record of `training_record`: written as
        training.json beside the weights."""
        card = self.config.card
        datasets = card.datasets if card.datasets is not None else self.hub_datasets
        record = self.training_record(weights, validation_label, scores, scores_step)
        return {"training": record, "datasets": datasets or None, "license": card.license,
                "data_licenses": card.data_licenses, "synthetic_only": card.synthetic_only}

    def save_model(self, folder: Path, weights: str, validation_label: str = "",
                   scores: Mapping[str, float] | None = None, scores_step: int = 0) -> None:
        """save_pretrained (config, safetensors, card) + training.json into `folder`, replacing it whole;
        the arguments after `folder` are those of `training_record`."""
        options = self.card_options(weights, validation_label, scores, scores_step)
        partial = folder.with_name(f".{folder.name}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        self.evaluated_model().save_pretrained(partial, model_card_kwargs=options)
        _write_json(partial / "training.json", options)
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)


def _describe_init(init_from: str | None) -> str:
    """The card's "initial weights": the model fine-tuned, or "" for a run from random weights."""
    if init_from is None:
        return ""
    if init_from == DEFAULT_INIT:
        return "fine-tuned from the default model of mixwave-hf (`MixWaveUNet.from_pretrained()`)"
    return f"fine-tuned from `{init_from}`"


# ---- command line ---------------------------------------------------------------------------------------

#: Command-line flags that override one config option each.
FLAG_OPTIONS = {
    "target": "data.target", "crop_output_samples": "data.crop_output_samples", "num_workers": "data.num_workers",
    "steps": "training.steps", "batch_size": "training.batch_size", "seed": "training.seed",
    "gradient_accumulation_steps": "training.gradient_accumulation_steps",
    "mixed_precision": "training.mixed_precision", "ema_decay": "training.ema_decay",
    "validate_every": "training.validate_every", "checkpoint_every": "training.checkpoint_every",
    "lr": "optimizer.lr", "init_from": "training.init_from",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="train_accelerate.py",
        description="Train the Mix-Wave-U-Net with Accelerate (`accelerate launch train_accelerate.py ...` on "
        "several devices, `python train_accelerate.py ...` on one). Options come from --config (YAML), then --set, "
        "then the flags below; the resolved configuration is written to OUTPUT_DIR/config.yaml.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", metavar="PATH_OR_REPO_ID", help="multitrack dataset folder or Hub dataset id "
                        "(streamed; needs the `datasets` library)")
    source.add_argument("--bundle", metavar="FILE.npz", help="training bundle (export_bundle): torch + numpy only")
    parser.add_argument("--validation-bundle", metavar="FILE.npz", help="validation set for --bundle")
    parser.add_argument("--output-dir", required=True, type=Path, help="checkpoints, logs and models go here")
    parser.add_argument("--config", type=Path, help="YAML config (see configs/train_default.yaml)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.OPTION=VALUE",
                        help="override one config option, e.g. --set model.levels=8 (repeatable; value read as YAML)")
    overrides = parser.add_argument_group("config options", "each overrides one option of the config")

    def override(flag: str, **options: Any) -> None:
        # SUPPRESS: a flag not given leaves no attribute, so that it cannot override the config with None.
        overrides.add_argument(flag, default=argparse.SUPPRESS, **options)

    override("--target", choices=list(TARGETS), help="mix to learn (data.target)")
    override("--steps", type=int, help="optimizer steps (training.steps)")
    override("--batch-size", type=int, help="crops per process per batch (training.batch_size)")
    override("--gradient-accumulation-steps", type=int, help="batches per optimizer step")
    override("--lr", type=float, help="peak learning rate (optimizer.lr)")
    override("--mixed-precision", choices=list(MIXED_PRECISIONS), help="training.mixed_precision")
    override("--ema-decay", type=_decay_or_none, help="EMA decay of the published weights, or none "
             "(training.ema_decay)")
    override("--crop-output-samples", type=int, help="output samples per crop, e.g. 22050 = 0.5 s on CPU")
    override("--num-workers", type=int, help="DataLoader workers per process (data.num_workers)")
    override("--seed", type=int, help="initial weights (training.seed)")
    override("--init-from", metavar="MODEL", help=f"fine-tune: start from this model's weights and config "
             f"({DEFAULT_INIT!r}: the default model; or a model folder, or a Hub model id); model options of the "
             "config must equal its own (training.init_from)")
    override("--validate-every", type=int, help="steps between validations (0: none)")
    override("--checkpoint-every", type=int, help="steps between checkpoints (0: only at the end)")
    parser.add_argument("--resume", action="store_true", help="continue from the newest complete checkpoint")
    parser.add_argument("--push-to-hub", metavar="ORG/NAME", help="upload the best model with its card at the end")
    parser.add_argument("--private", action="store_true", help="with --push-to-hub: create a private repo")
    parser.add_argument("--cpu", action="store_true", help="CPU processes even where a GPU is present "
                        "(2 CPU processes: accelerate launch --multi_gpu --num_processes 2 ... --cpu)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--record-crops", action="store_true",
                        help="each process writes OUTPUT_DIR/crops-rank{N}.json: its crops per step and final "
                        "parameter checksum (tests, debugging)")
    return parser


def _decay_or_none(text: str) -> float | None:
    return None if text.lower() in ("none", "null") else float(text)


def resolve_config(args: argparse.Namespace) -> TrainingConfig:
    """Defaults <- --config file <- --set options <- flags."""
    values = load_config_file(args.config) if args.config else {}
    for assignment in args.set:
        set_option(values, *parse_assignment(assignment))
    for flag, key in FLAG_OPTIONS.items():
        if hasattr(args, flag):
            set_option(values, key, getattr(args, flag))
    return TrainingConfig.from_dict(values)


def main(argv: Sequence[str] | None = None) -> int:
    """Run `train_accelerate.py` with `argv` (default sys.argv[1:]); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    warnings.filterwarnings("ignore", message="'set_vital' is deprecated")  # torchdata 0.11 calling torch, noise
    try:
        if args.validation_bundle and not args.bundle:
            raise ConfigError("--validation-bundle goes with --bundle; with --dataset the validation split is read")
        config = resolve_config(args)
        source = DataSource(args.dataset, args.bundle, args.validation_bundle)
        for file in (args.bundle, args.validation_bundle):
            if file is not None and not Path(file).is_file():
                raise ConfigError(f"{file}: no such file; expected a bundle written by export_bundle")
        launcher = "python" if int(os.environ.get("WORLD_SIZE", "1")) == 1 else (
            f"accelerate launch --num_processes {os.environ['WORLD_SIZE']}")
        command = f"{launcher} train_accelerate.py {shlex.join(argv)}"
        train(config, source, args.output_dir, resume=args.resume, cpu=args.cpu, push_to_hub=args.push_to_hub,
              private=args.private, record_crops=args.record_crops, progress=not args.no_progress, command=command)
    except ConfigError as error:
        print(f"train_accelerate.py: error: {error}", file=sys.stderr)
        return 1
    return 0
