"""The training configuration: YAML sections as dataclasses, validated once (`TrainingConfig.from_dict`).

The model's and the data's options are their owners' (`MixWaveUNetConfig`, `CropOptions`, `StreamingOptions`,
`ValidationOptions`), nested here; every option's help text is its field's (`option_fields`), from which the
command line's flags and `--help` are generated (`training.cli`).

    config = TrainingConfig.from_dict(load_config_file("configs/default_model_cpu.yaml"))
    config.training.steps, config.data.crops.crop_output_samples, config.model.levels
"""

from __future__ import annotations

import json
import math
import os
import re
import typing
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import Field, asdict, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from mixwave_hf.data.loader import CropConfig, CropOptions, StreamingOptions, ValidationOptions
from mixwave_hf.errors import MixwaveError
from mixwave_hf.model import MixWaveUNet, MixWaveUNetConfig
from mixwave_hf.model_options import FORMAT_VERSION

LR_DECAYS = ("cosine", "exponential", "constant")


OPTIMIZERS = ("adam", "adamw")


MIXED_PRECISIONS = ("no", "fp16", "bf16")


#: `training.init_from` naming the model embedded in the package (`MixWaveUNet.from_pretrained()`).
DEFAULT_INIT = "default"


class ConfigError(MixwaveError, ValueError):
    """A configuration or command line that cannot be used; the message names the option."""


def _help(text: str, **metadata: Any) -> dict[str, Any]:
    return {"help": text, **metadata}


@dataclass
class DataOptions:
    """Where crops come from and how they are read; the crops, the readers' order and the validation set are
    the data package's options (`CropOptions`, `StreamingOptions`, `ValidationOptions`)."""

    train_split: str = field(default="train", metadata=_help("split the training crops come from (--dataset)"))
    validation_split: str = field(default="validation", metadata=_help("split validated on (--dataset)"))
    num_workers: int = field(default=0, metadata=_help(
        "DataLoader workers per process; shards should be a multiple of processes x workers"))
    crops: CropOptions = field(default_factory=CropOptions, metadata=_help("what a training crop is"))
    streaming: StreamingOptions = field(default_factory=StreamingOptions, metadata=_help(
        "how the training crops are shuffled and buffered"))
    validation: ValidationOptions = field(default_factory=ValidationOptions, metadata=_help(
        "the fixed validation crops"))

    def __post_init__(self) -> None:
        _check_not_negative("data", num_workers=self.num_workers)


@dataclass
class OptimizerOptions:
    """Adam (the paper: lr 1e-4) or AdamW, and gradient clipping."""

    name: str = field(default="adam", metadata=_help("adam or adamw", choices=OPTIMIZERS))
    lr: float = field(default=1e-4, metadata=_help("peak learning rate"))
    betas: tuple[float, float] = field(default=(0.9, 0.999), metadata=_help("Adam's betas"))
    weight_decay: float = field(default=0.0, metadata=_help("weight decay (AdamW: decoupled)"))
    max_grad_norm: float | None = field(default=1.0, metadata=_help(
        "clip the global gradient norm; null: no clipping (its value is logged either way)"))

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
    """The learning rate, stepped once per optimizer step: a linear warmup, then a decay."""

    warmup_steps: int = field(default=1000, metadata=_help("steps of linear warmup from lr/1000 to lr"))
    decay: str = field(default="cosine", metadata=_help("cosine, exponential or constant", choices=LR_DECAYS))
    decay_steps: int | None = field(default=None, metadata=_help("steps of decay; null: the rest of the run"))
    min_lr_ratio: float = field(default=0.1, metadata=_help("the lr decays to lr x this (cosine, exponential)"))

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
    """Weights of the loss terms (at least one positive; a term of weight 0 is not computed)."""

    l1: float = field(default=1.0, metadata=_help("waveform L1 (the paper's loss)"))
    stft: float = field(default=0.0, metadata=_help(
        "stereo multi-resolution STFT loss on sum and difference (FFT sizes of metrics.STFT_FFT_SIZES)"))

    def __post_init__(self) -> None:
        _check_not_negative("loss", l1=self.l1, stft=self.stft)
        if self.l1 == 0 and self.stft == 0:
            raise ConfigError("loss: l1 and stft are both 0; expected at least one positive weight")


@dataclass
class TrainingOptions:
    """The run: steps, batches, precision, EMA, and how often to log, validate and checkpoint."""

    steps: int = field(default=200_000, metadata=_help("optimizer steps"))
    batch_size: int = field(default=16, metadata=_help(
        "crops per process per batch; a step is batch_size x processes x accumulation crops"))
    gradient_accumulation_steps: int = field(default=1, metadata=_help("batches per optimizer step"))
    mixed_precision: str | None = field(default=None, metadata=_help(
        "no, fp16 or bf16; null: Accelerate's setting (accelerate launch --mixed_precision)", choices=MIXED_PRECISIONS))
    ema_decay: float | None = field(default=0.999, metadata=_help(
        "EMA decay of the validated and published weights; null (none): the raw weights"))
    seed: int = field(default=0, metadata=_help("seeds the initial weights"))
    log_every: int = field(default=50, metadata=_help("steps between TensorBoard points"))
    validate_every: int = field(default=2000, metadata=_help(
        "steps between validations (0: none); the best model goes to OUTPUT_DIR/best"))
    checkpoint_every: int = field(default=2000, metadata=_help("steps between checkpoints (0: only at the end)"))
    checkpoints_kept: int = field(default=3, metadata=_help("newest checkpoints kept"))
    init_from: str | None = field(default=None, metadata=_help(
        f"fine-tune: start from this model's weights and config ({DEFAULT_INIT!r}: the default model; or a model "
        "folder, or a Hub model id); model options of the config must equal its own. null: random weights",
        metavar="MODEL"))

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
    """The model card of OUTPUT_DIR/best and /final."""

    license: str = field(default="other", metadata=_help(
        "the weights' licence: their data's where it binds (cc-by-sa-3.0 for the AVL kits)"))
    data_licenses: str = field(default="", metadata=_help("a sentence on the data's licences, shown on the card"))
    datasets: list[str] | None = field(default=None, metadata=_help(
        "Hub dataset ids; null: the --dataset repo id (none for local folders)"))
    synthetic_only: bool = field(default=False, metadata=_help(
        "true: the card says the model saw synthetic drums only"))


#: The model section's options: the model's own, but its config layout version (always this code's).
MODEL_OPTIONS = tuple(option.name for option in fields(MixWaveUNetConfig) if option.name != "format_version")
#: Old flat keys of the data section (before the crops, readers and validation set had their own) -> today's;
#: read with a FutureWarning for one release.
FLAT_DATA_KEYS = {
    "target": "crops.target", "crop_output_samples": "crops.crop_output_samples",
    "crops_per_segment": "crops.crops_per_segment", "gain_db": "crops.gain_db",
    "min_segment_seconds": "crops.min_segment_seconds", "shuffle": "streaming.shuffle", "seed": "streaming.seed",
    "shuffle_buffer_segments": "streaming.shuffle_buffer_segments",
    "shuffle_buffer_crops": "streaming.shuffle_buffer_crops",
    "validation_crops_per_segment": "validation.crops_per_segment", "validation_max_crops": "validation.max_crops",
}


@dataclass
class TrainingConfig:
    """Everything a run is configured by. `model` (default: the paper network, or with `training.init_from` that
    model's config; `balance_gain_db` None: to be fitted on the data) decides the crops' slots, rate, window and
    levelling (`CropConfig.for_model`), and with them the input gain a `data.crops.gain_db` of null stands for."""

    model: MixWaveUNetConfig = field(default_factory=MixWaveUNetConfig, metadata=_help(
        "MixWaveUNet's options, written to the saved model's config.json"))
    data: DataOptions = field(default_factory=DataOptions, metadata=_help("the data and its crops"))
    optimizer: OptimizerOptions = field(default_factory=OptimizerOptions, metadata=_help("the optimizer"))
    schedule: ScheduleOptions = field(default_factory=ScheduleOptions, metadata=_help("the learning rate"))
    loss: LossOptions = field(default_factory=LossOptions, metadata=_help("the loss"))
    training: TrainingOptions = field(default_factory=TrainingOptions, metadata=_help("the run"))
    card: CardOptions = field(default_factory=CardOptions, metadata=_help("the model card"))

    def __post_init__(self) -> None:
        if self.model.balance_gain_db is None and self.model.output_init != "balance":
            raise ConfigError(f"model.balance_gain_db: null (fitted on the training data) goes with "
                              f"model.output_init: balance; this config has output_init {self.model.output_init!r}: "
                              "set a number instead")
        crops = self.crop_config()  # the data's crops of this model: the input gain as the model's levelling allows
        self.data = replace(self.data, crops=replace(self.data.crops, gain_db=crops.gain_db))

    def crop_config(self) -> CropConfig:
        """The crops of this model (`CropConfig.for_model`); ConfigError where the data options disagree with it."""
        try:
            return CropConfig.for_model(self.model, self.data.crops)
        except ValueError as error:
            raise ConfigError(f"data: {error}") from error

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> TrainingConfig:
        """A config from nested mappings (as in the YAML file); missing options keep their defaults.

        ConfigError names an unknown section or option, or a bad value; old flat data keys are read with a
        FutureWarning (`FLAT_DATA_KEYS`).
        """
        values = _mapping(values, "config", {option.name: None for option in fields(cls)}, what="section")
        if isinstance(values.get("data"), Mapping):
            values["data"] = _nested_data_section(values["data"])
        sections = {option.name: _options_from_dict(option_type(cls, option.name), values.get(option.name),
                                                    option.name)
                    for option in fields(cls) if option.name != "model"}
        given = _mapping(values.get("model"), "model", dict.fromkeys(MODEL_OPTIONS))
        init_from = sections["training"].init_from
        model = _init_model_config(init_from, given) if init_from else _model_config(given)
        return cls(model=model, **sections)

    def as_dict(self) -> dict[str, Any]:
        """Plain nested dicts and lists, as written to config.yaml."""
        values = _plain(asdict(self))
        del values["model"]["format_version"]
        return values


def option_type(owner: type, name: str) -> Any:
    """The type of option `name` of the dataclass `owner`, its annotation resolved."""
    return typing.get_type_hints(owner)[name]


def option_fields(owner: type = TrainingConfig, prefix: str = "") -> Iterator[tuple[str, Field, Any]]:
    """Every option below `owner` as (dotted path, its dataclasses.Field, its type), sections depth first."""
    for option in fields(owner):
        kind, path = option_type(owner, option.name), f"{prefix}{option.name}"
        if kind is MixWaveUNetConfig:  # the model section: all but the layout version, which is the code's
            yield from ((f"{path}.{name}", *_field_and_type(kind, name)) for name in MODEL_OPTIONS)
        elif is_dataclass(kind):
            yield from option_fields(kind, f"{path}.")
        else:
            yield path, option, kind


def _field_and_type(owner: type, name: str) -> tuple[Field, Any]:
    return next(option for option in fields(owner) if option.name == name), option_type(owner, name)


def _options_from_dict(kind: type, values: Any, path: str) -> Any:
    """An options dataclass `kind` from a mapping, its nested options likewise; ConfigError naming the option."""
    given = _mapping(values, path, {option.name: None for option in fields(kind)})
    for option in fields(kind):
        nested = option_type(kind, option.name)
        if is_dataclass(nested) and option.name in given:
            given[option.name] = _options_from_dict(nested, given[option.name], f"{path}.{option.name}")
    try:
        return kind(**given)
    except ConfigError:
        raise
    except (TypeError, ValueError) as error:  # the owner's check, or a wrong type its checks trip over
        raise ConfigError(f"{path}: {error}") from error


def upgraded_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """Nested options (a YAML file's, a run's config.yaml) in today's layout: old flat data keys moved, quietly."""
    values = dict(values)
    if isinstance(values.get("data"), Mapping):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            values["data"] = _nested_data_section(values["data"])
    return values


def _nested_data_section(data: Mapping[str, Any]) -> dict[str, Any]:
    """The data section with its old flat keys (`FLAT_DATA_KEYS`) moved where they live now, each with a
    FutureWarning; ConfigError where an option is given both ways."""
    nested = {key: dict(value) if isinstance(value, Mapping) else value for key, value in data.items()
              if key not in FLAT_DATA_KEYS}
    for old in (key for key in data if key in FLAT_DATA_KEYS):
        new = FLAT_DATA_KEYS[old]
        group, _, name = new.partition(".")
        target = nested.setdefault(group, {})
        if not isinstance(target, dict) or name in target:
            raise ConfigError(f"data.{old} and data.{new} are one option; give data.{new} only")
        warnings.warn(f"data.{old} is now data.{new}; the flat key is read for one more release",
                      FutureWarning, stacklevel=4)
        target[name] = data[old]
    return nested


def _model_config(given: Mapping[str, Any]) -> MixWaveUNetConfig:
    try:
        return MixWaveUNetConfig(**given)
    except (TypeError, ValueError) as error:  # its own checks name the bad option
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


def _init_model_config(init_from: str, given: Mapping[str, Any]) -> MixWaveUNetConfig:
    """The model of a run fine-tuning `init_from`: that model's config (at this code's format version);
    ConfigError naming every option of `given` (the config file, --set) that differs from it."""
    model = replace(load_init_model(init_from).config, format_version=FORMAT_VERSION)
    conflicts = [f"model.{name}={value!r} here, {_plain(getattr(model, name))!r} in the model"
                 for name, value in given.items() if _plain(value) != _plain(getattr(model, name))]
    if conflicts:
        raise ConfigError(f"training.init_from={init_from!r}: the architecture and initialisation come from that "
                          f"model, and the config disagrees with it: {'; '.join(conflicts)}. Leave these options "
                          "out of the config (a config without a model section, or the model's own values)")
    return model


def _plain(value: Any) -> Any:
    """`value` as YAML and JSON hold it (tuples as lists), for comparing options."""
    return json.loads(json.dumps(value))


def _mapping(values: Any, name: str, accepted: Mapping[str, Any], what: str = "option") -> dict[str, Any]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise ConfigError(f"{name}: {values!r}; expected a mapping of {what}s ({', '.join(accepted)})")
    unknown = set(values) - set(accepted)
    if unknown:
        if what == "section":
            raise ConfigError(f"unknown config section(s) {sorted(unknown)}; expected some of {list(accepted)}")
        raise ConfigError(f"{name}: unknown {what}(s) {sorted(unknown)}; expected some of {list(accepted)}")
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
                          f"({[option.name for option in fields(TrainingConfig)]})")
    return values or {}


def set_option(values: dict[str, Any], key: str, value: Any) -> None:
    """Set the option a dotted key names ("section.option", "data.crops.gain_db") in nested `values`."""
    *sections, option = key.split(".")
    if not sections or not all(sections) or not option:
        raise ConfigError(f"{key!r}: expected section.option, e.g. training.steps or data.crops.gain_db")
    target = values
    for depth, section in enumerate(sections):
        target = target.setdefault(section, {})
        if not isinstance(target, dict):
            raise ConfigError(f"{key!r}: config section {'.'.join(sections[:depth + 1])!r} is not a mapping")
    target[option] = value


def check_option(key: str, value: Any) -> None:
    """ConfigError where the option a dotted key names does not take `value`: the options it belongs to are
    made with it alone, so that their own check decides."""
    *sections, name = key.split(".")
    if sections == ["model"]:
        _model_config({name: value})
        return
    owner: type = TrainingConfig
    for section in sections:
        owner = option_type(owner, section)
    _options_from_dict(owner, {name: value}, ".".join(sections))


def parse_assignment(text: str) -> tuple[str, Any]:
    """ "section.option=value" -> (key, value), the value read as YAML (numbers, true/false, null, lists)."""
    key, equals, raw = text.partition("=")
    if not equals:
        raise ConfigError(f"--set {text!r}: expected section.option=value, e.g. training.steps=1000")
    try:
        return key.strip(), yaml.safe_load(raw)
    except yaml.YAMLError as error:
        raise ConfigError(f"--set {text!r}: the value is not plain YAML ({error})") from error
