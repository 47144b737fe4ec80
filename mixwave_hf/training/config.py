"""The training configuration: YAML sections as dataclasses, validated once (`TrainingConfig.from_dict`).

    config = TrainingConfig.from_dict(load_config_file("configs/default_model_cpu.yaml"))
    config.training.steps, config.data.crop_output_samples, config.model["levels"]
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from mixwave_hf.data.loader import CropConfig
from mixwave_hf.data.schema import TARGETS
from mixwave_hf.model import MixWaveUNet, MixWaveUNetConfig

LR_DECAYS = ("cosine", "exponential", "constant")


OPTIMIZERS = ("adam", "adamw")


MIXED_PRECISIONS = ("no", "fp16", "bf16")


#: `training.init_from` naming the model embedded in the package (`MixWaveUNet.from_pretrained()`).
DEFAULT_INIT = "default"


class ConfigError(ValueError):
    """A configuration or command line that cannot be used; the message names the option."""


def _model_defaults() -> dict[str, Any]:
    """MixWaveUNet's constructor defaults (the paper network), as plain YAML values."""
    return {name: value for name, value in _plain(asdict(MixWaveUNetConfig())).items() if name != "format_version"}


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
class TrainingOptions:
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
            "training": TrainingOptions, "card": CardOptions}


@dataclass
class TrainingConfig:
    """Everything a run is configured by; `model` holds MixWaveUNet's arguments (default: the paper network,
    or with `training.init_from` that model's config; `balance_gain_db` None: to be fitted on the data)."""

    model: dict[str, Any] = field(default_factory=_model_defaults)
    data: DataOptions = field(default_factory=DataOptions)
    optimizer: OptimizerOptions = field(default_factory=OptimizerOptions)
    schedule: ScheduleOptions = field(default_factory=ScheduleOptions)
    loss: LossOptions = field(default_factory=LossOptions)
    training: TrainingOptions = field(default_factory=TrainingOptions)
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
    saved = asdict(load_init_model(init_from).config)
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
    """ConfigError naming the first of `values` that is not a finite number > 0 (NaN and inf included)."""
    for name, value in values.items():
        if not _is_finite_number(value) or value <= 0:
            raise ConfigError(f"{section}.{name}={value!r}; expected a positive finite number")


def _check_not_negative(section: str, **values: float) -> None:
    """ConfigError naming the first of `values` that is not a finite number >= 0 (NaN and inf included)."""
    for name, value in values.items():
        if not _is_finite_number(value) or value < 0:
            raise ConfigError(f"{section}.{name}={value!r}; expected a finite number >= 0")


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


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
