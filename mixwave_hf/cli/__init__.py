"""The `mixwave` command line (mix, data, evaluate, push, train, demo): thin layers over the package.

    mixwave mix stems/ -o mix.wav

Exit status: 0 on success (warnings included), 1 when an input or the model cannot be used (a `MixwaveError`,
printed as one line), 2 for a malformed command line; anything else is a bug and shows its traceback.
Modules: `parser` (arguments), `checks` (option checks), `stems` (which files are mixed), `commands` and `data`
(what each subcommand runs). The command line is parsed once; a subcommand's costly imports (the trainer, the
synthetic renderer) wait until it runs.
"""

from __future__ import annotations

import argparse
import sys

from mixwave_hf.cli import commands, data
from mixwave_hf.cli.parser import (
    CommandParser,
    add_data_commands,
    add_demo_command,
    add_evaluate_command,
    add_mix_command,
    add_push_command,
    add_train_command,
)
from mixwave_hf.errors import MixwaveError

__all__ = ["build_parser", "main", "missing_dependency_hint"]

#: Modules of the optional extras (pyproject.toml), by the extra that installs them.
OPTIONAL_MODULES = {"pedalboard": "data", "datasets": "data", "pyarrow": "data", "pyroomacoustics": "data",
                    "accelerate": "train",
                    "torchdata": "train", "tensorboard": "train", "yaml": "train", "gradio": "demo"}


def main(argv: list[str] | None = None) -> int:
    """Run `mixwave` with `argv` (default: sys.argv[1:]); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = None
    try:
        args = build_parser().parse_args(argv)
        args.command_line = argv
        return args.run(args)
    except MixwaveError as error:
        print(f"mixwave: error: {error}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as error:
        hint = missing_dependency_hint(error.name or "")
        if hint is None:
            raise
        print(f"mixwave: error: `mixwave {command_name(args, argv)}` needs {error.name.split('.')[0]}, which is not "
              f"installed; {hint}", file=sys.stderr)
        return 1


def command_name(args: argparse.Namespace | None, argv: list[str]) -> str:
    """The subcommand run ("data build synth"), from the parsed arguments, else (the parse itself needed the
    missing module) the first word of `argv`."""
    if args is None:
        return argv[0]
    return " ".join(str(part) for part in (args.command, getattr(args, "data_command", None),
                                           getattr(args, "builder", None)) if part)


def missing_dependency_hint(module: str) -> str | None:
    """How to install the optional dependency `module` (e.g. "pyarrow.parquet"), or None if it is not one."""
    root = module.split(".")[0]
    if root == "tinysoundfont":  # its pyaudio dependency does not build without PortAudio headers
        return "install it with: pip install --no-deps tinysoundfont"
    extra = OPTIONAL_MODULES.get(root)
    return f"install the `{extra}` extra: pip install 'mixwave-hf[{extra}]'" if extra else None


def build_parser() -> argparse.ArgumentParser:
    """The `mixwave` parser: each subcommand's arguments (`parser`), with its runner as the `run` default."""
    parser = argparse.ArgumentParser(prog="mixwave", description="Automatic drum mixing with the Mix-Wave-U-Net.")
    subcommands = parser.add_subparsers(dest="command", required=True, parser_class=CommandParser)
    add_mix_command(subcommands).set_defaults(run=commands.run_mix)
    add_data_commands(subcommands, data.run_build, data.run_push, data.run_example, data.run_speed)
    add_evaluate_command(subcommands).set_defaults(run=commands.run_evaluate)
    add_push_command(subcommands).set_defaults(run=commands.run_push_model)
    add_train_command(subcommands).set_defaults(run=commands.run_train)
    add_demo_command(subcommands).set_defaults(run=commands.run_demo)
    return parser
