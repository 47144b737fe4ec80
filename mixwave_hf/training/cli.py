"""The training command line (`train_accelerate.py`, `mixwave train`): flags -> a config -> `train`.

    python train_accelerate.py --bundle train.npz --validation-bundle validation.npz \
        --config configs/default_model_cpu.yaml --output-dir runs/cpu --steps 1000
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import types
import typing
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mixwave_hf.training.config import (
    ConfigError,
    TrainingConfig,
    check_option,
    load_config_file,
    option_fields,
    parse_assignment,
    set_option,
)
from mixwave_hf.training.data import DataSource
from mixwave_hf.training.run import train

#: The flags that override one config option each: flag -> the option's dotted key. Their help, type, choices
#: and metavar are the option's (`option_flag_arguments`); every option is also `--set KEY=VALUE`.
OPTION_FLAGS: dict[str, str] = {
    "--target": "data.crops.target",
    "--steps": "training.steps",
    "--batch-size": "training.batch_size",
    "--gradient-accumulation-steps": "training.gradient_accumulation_steps",
    "--lr": "optimizer.lr",
    "--mixed-precision": "training.mixed_precision",
    "--ema-decay": "training.ema_decay",
    "--crop-output-samples": "data.crops.crop_output_samples",
    "--num-workers": "data.num_workers",
    "--seed": "training.seed",
    "--init-from": "training.init_from",
    "--validate-every": "training.validate_every",
    "--checkpoint-every": "training.checkpoint_every",
}


def option_flag_arguments(key: str) -> dict[str, Any]:
    """argparse keywords of the flag for option `key`: its help text (and key), a type from its annotation
    (an optional one also reads "none" or "null" as None), its choices and metavar."""
    path, option, kind = next(entry for entry in option_fields() if entry[0] == key)
    optional = typing.get_origin(kind) in (typing.Union, types.UnionType) and type(None) in typing.get_args(kind)
    base = next(arg for arg in typing.get_args(kind) if arg is not type(None)) if optional else kind
    keywords: dict[str, Any] = {"help": f"{option.metadata['help']} ({path})"}
    if base in (int, float):
        keywords["type"] = _or_none(base) if optional else base
    if "choices" in option.metadata:
        keywords["choices"] = list(option.metadata["choices"])
    if "metavar" in option.metadata:
        keywords["metavar"] = option.metadata["metavar"]
    return keywords


def _or_none(convert: type) -> Any:
    def value_or_none(text: str) -> Any:
        return None if text.lower() in ("none", "null") else convert(text)

    value_or_none.__name__ = f"{convert.__name__} or none"
    return value_or_none


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The training command's arguments, added to `parser` (train_accelerate.py's, or `mixwave train`'s)."""
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
    for flag, key in OPTION_FLAGS.items():
        # SUPPRESS: a flag not given leaves no attribute, so that it cannot override the config with None.
        overrides.add_argument(flag, default=argparse.SUPPRESS, **option_flag_arguments(key))
    parser.add_argument("--resume", action="store_true", help="continue from the newest complete checkpoint")
    parser.add_argument("--push-to-hub", metavar="ORG/NAME", help="upload the best model with its card at the end")
    parser.add_argument("--private", action="store_true", help="with --push-to-hub: create a private repo")
    parser.add_argument("--cpu", action="store_true", help="CPU processes even where a GPU is present "
                        "(2 CPU processes: accelerate launch --multi_gpu --num_processes 2 ... --cpu)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--record-crops", action="store_true",
                        help="each process writes OUTPUT_DIR/crops-rank{N}.json: its crops per step and final "
                        "parameter checksum (tests, debugging)")


DESCRIPTION = ("Train the Mix-Wave-U-Net with Accelerate (`accelerate launch train_accelerate.py ...` on several "
               "devices, `python train_accelerate.py ...` or `mixwave train ...` on one). Options come from --config "
               "(YAML), then --set, then the flags below; the resolved configuration is written to "
               "OUTPUT_DIR/config.yaml.")


def build_parser(prog: str = "train_accelerate.py") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add_arguments(parser)
    return parser


def resolve_config(args: argparse.Namespace) -> TrainingConfig:
    """Defaults <- --config file <- --set options <- flags."""
    values = load_config_file(args.config) if args.config else {}
    for assignment in args.set:
        set_option(values, *parse_assignment(assignment))
    for flag, key in OPTION_FLAGS.items():
        destination = flag.removeprefix("--").replace("-", "_")
        if hasattr(args, destination):
            check_flag(flag, key, getattr(args, destination))
            set_option(values, key, getattr(args, destination))
    return TrainingConfig.from_dict(values)


def check_flag(flag: str, key: str, value: Any) -> None:
    """ConfigError naming `flag` when `value` is not one its config option (`key`, dotted) takes: the option's
    own check decides (`config.check_option`)."""
    try:
        check_option(key, value)
    except ConfigError as error:
        raise ConfigError(f"{flag} {value}: {error}") from error


def run_training(args: argparse.Namespace, command: str, prog: str = "train_accelerate.py") -> int:
    """Train as the parsed arguments say (`command`: the command line, for the card); prints a ConfigError
    as `prog`'s error and returns 1."""
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
        train(config, source, args.output_dir, resume=args.resume, cpu=args.cpu, push_to_hub=args.push_to_hub,
              private=args.private, record_crops=args.record_crops, progress=not args.no_progress, command=command)
    except ConfigError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None, prog: str = "train_accelerate.py") -> int:
    """Run the training command `prog` (train_accelerate.py, or "mixwave train") with `argv` (default
    sys.argv[1:]); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(prog).parse_args(argv)
    launcher = "python " if int(os.environ.get("WORLD_SIZE", "1")) == 1 else (
        f"accelerate launch --num_processes {os.environ['WORLD_SIZE']} ")
    command = f"{launcher if prog.endswith('.py') else ''}{prog} {shlex.join(argv)}"
    return run_training(args, command, prog)
