"""The `mixwave` command line's arguments, one function per subcommand; `mixwave_hf.cli.build_parser`
puts them together and gives each subcommand its runner. app.py takes the demo's (`demo_parser`).

    add_mix_command(commands).set_defaults(run=run_mix)

A subcommand whose arguments need a costly import (`mixwave train`'s come from the trainer) declares them in a
function its `CommandParser` calls on first use, so that `mixwave mix` never imports the trainer.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from mixwave_hf.audio import OUTPUT_FORMATS
from mixwave_hf.cli.checks import MAX_BATCH_SIZE
from mixwave_hf.data.schema import TARGETS
from mixwave_hf.mixing import DEFAULT_PEAK_CEILING_DB, DEFAULT_WINDOW_SECONDS, MAX_TRIM_DB, MAX_WINDOW_SECONDS
from mixwave_hf.slots import PERSPECTIVES


class CommandParser(argparse.ArgumentParser):
    """A subcommand's parser; the function given as `arguments`, called with the parser, adds its arguments when
    it first parses or prints help (a subcommand's costly imports wait until it is used)."""

    def __init__(self, *args, arguments: Callable[[argparse.ArgumentParser], None] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.deferred_arguments = arguments

    def add_deferred_arguments(self) -> None:
        arguments, self.deferred_arguments = self.deferred_arguments, None
        if arguments is not None:
            arguments(self)

    def parse_known_args(self, args=None, namespace=None):
        self.add_deferred_arguments()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self.add_deferred_arguments()
        return super().format_usage()

    def format_help(self) -> str:
        self.add_deferred_arguments()
        return super().format_help()


def add_mix_command(commands) -> argparse.ArgumentParser:
    """`mixwave mix STEMS... -o OUT` and its options."""
    mix = commands.add_parser(
        "mix",
        help="mix a folder (or list) of stems into a stereo WAV",
        description="Mix separately recorded drum tracks into a stereo mix. Files are matched to the "
        "model's slots by name (kick/bd, snare/sd, hihat/hh, tom_1..tom_3, overhead_L/R, or "
        "overheads for a stereo pair); --map assigns files by hand.",
    )
    mix.add_argument("inputs", nargs="+", metavar="STEMS_DIR_OR_FILE", help="a folder of stems, or stem files")
    mix.add_argument("-o", "--output", required=True, type=Path,
                     help="the mix to write: .wav, or .flac/.aiff/.w64/.caf (.flac with --format pcm24 or pcm16)")
    add_model_argument(mix)
    mix.add_argument("--map", action="append", default=[], metavar="SLOT=FILE",
                     help="assign FILE to SLOT, overriding name matching (repeatable)")
    mix.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    mix.add_argument("--window-seconds", type=float, default=DEFAULT_WINDOW_SECONDS,
                     help="input seconds streamed per step; does not change the mix (default "
                     f"{DEFAULT_WINDOW_SECONDS}; capped at {MAX_WINDOW_SECONDS:g} s and at the song's length)")
    mix.add_argument("--batch-size", type=int, default=None,
                     help="song segments mixed side by side; does not change the mix (default 1 on CPU, 8 on "
                     f"CUDA; at most {MAX_BATCH_SIZE})")
    mix.add_argument("--sample-rate", type=int, default=None,
                     help="output rate in Hz, 8000 to 384000 (default: the inputs' rate, the most common one "
                     "if they differ)")
    mix.add_argument("--format", choices=list(OUTPUT_FORMATS), default="float",
                     help="output encoding (default float: 32-bit float WAV)")
    mix.add_argument("--peak-ceiling", type=float, default=DEFAULT_PEAK_CEILING_DB, metavar="DBFS",
                     help="peaks above this level are turned down by a look-ahead limiter, and reported "
                     f"(default {DEFAULT_PEAK_CEILING_DB:g} dBFS; -60 to 0)")
    mix.add_argument("--no-limiter", action="store_true",
                     help="no peak limiter: samples beyond full scale are clipped (and reported)")
    mix.add_argument("--trim", action="append", default=[], metavar="SLOT=DB",
                     help=f"turn a slot's track up or down (dB, -{MAX_TRIM_DB:g} to +{MAX_TRIM_DB:g}) after "
                     "levelling, before the network, "
                     "e.g. --trim snare=+2 --trim overheads=-3 (repeatable; aliases accepted)")
    add_intensity_argument(mix)
    mix.add_argument("--perspective", choices=list(PERSPECTIVES), default="audience",
                     help="whose view the mix pans from: audience (a listener in front of the kit: hi-hat right; "
                     "default) or drummer (hi-hat left); OH L/R files go to the mix's left/right either way")
    return mix


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    """`--model`: the model a command uses (a folder, a Hub repo id, or the embedded default)."""
    parser.add_argument("--model", help="model directory or Hugging Face Hub repo id (default: the embedded model)")


def add_evaluate_command(commands) -> argparse.ArgumentParser:
    """`mixwave evaluate (--dataset D | --stems S... --reference R)` and its options."""
    evaluate = commands.add_parser(
        "evaluate", help="score a model and the baselines against reference mixes",
        description="Score a model beside the baselines (plain sum, loudness-matched sum, rule-based mix): "
        "on every song of a dataset split (--dataset), or on one song (--stems and --reference).")
    add_model_argument(evaluate)
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="dataset folder or Hub dataset repo id")
    source.add_argument("--stems", nargs="+", metavar="STEMS_DIR_OR_FILE", help="one song's stems (with --reference)")
    evaluate.add_argument("--reference", type=Path, help="the reference mix of --stems")
    evaluate.add_argument("--split", default="test", help="dataset split (default test)")
    evaluate.add_argument("--target", choices=list(TARGETS), default="wet", help="reference mix (default wet)")
    evaluate.add_argument("--output", type=Path, default=Path("evaluation.json"),
                          help="where to write the JSON (default evaluation.json)")
    evaluate.add_argument("--examples", type=int, default=0, help="write the mixes of the first N songs")
    evaluate.add_argument("--examples-dir", type=Path, default=Path("evaluation-examples"),
                          help="folder for --examples (default evaluation-examples)")
    evaluate.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    add_intensity_argument(evaluate)
    evaluate.add_argument("--perspective", choices=list(PERSPECTIVES), default=None,
                          help="whose view the model and the rule-based mix pan from (default: the dataset's, "
                          "as its songs' metadata says, drummer where it says nothing; audience for --stems)")
    return evaluate


def add_push_command(commands) -> argparse.ArgumentParser:
    """`mixwave push MODEL_DIR ORG/NAME`."""
    push = commands.add_parser("push", help="upload a model folder to a Hub model repo, with its card",
                               description="Upload a model folder (save_pretrained's files) to a Hub repo; the "
                               "model card is rendered for that repo from the folder's training.json and "
                               "evaluation.json and validated before anything is uploaded.")
    push.add_argument("model_dir", type=Path, metavar="MODEL_DIR")
    push.add_argument("repo_id", metavar="ORG/NAME")
    push.add_argument("--private", action="store_true", help="create the repo private")
    push.add_argument("--evaluation", type=Path, help="an evaluation JSON to show (default MODEL_DIR/evaluation.json)")
    return push


DEMO_DESCRIPTION = ("Serve the drum mixing demo in the browser: upload stems, check which slot each file feeds, "
                    "hear and download the mix (the app of app.py and the Hugging Face Space). Runs until interrupted.")


def add_demo_command(commands) -> argparse.ArgumentParser:
    """`mixwave demo [--model M] [--host H] [--port P]`."""
    demo = commands.add_parser(
        "demo", help="serve the web demo (Gradio): upload stems, hear and download the mix",
        description=DEMO_DESCRIPTION)
    add_demo_arguments(demo)
    return demo


def demo_parser(prog: str, model_variable: str | None = None) -> argparse.ArgumentParser:
    """The demo's own parser (app.py's): `mixwave demo`'s arguments, --model defaulting to the environment
    variable `model_variable` where one is named."""
    parser = argparse.ArgumentParser(prog=prog, description=DEMO_DESCRIPTION)
    add_demo_arguments(parser, model_variable)
    return parser


def add_demo_arguments(parser: argparse.ArgumentParser, model_variable: str | None = None) -> None:
    """--model, --host and --port; --model's default is $`model_variable` (if named and set), else the embedded
    model."""
    if model_variable is None:
        add_model_argument(parser)
    else:
        parser.add_argument("--model", default=os.environ.get(model_variable) or None,
                            help=f"model directory or Hugging Face Hub repo id (default: ${model_variable}, else the "
                            "embedded default model)")
    parser.add_argument("--host", default=None, help="address to listen on (default: $GRADIO_SERVER_NAME, else "
                        "127.0.0.1; 0.0.0.0 for every interface)")
    parser.add_argument("--port", type=int, default=None,
                        help="port (default: $GRADIO_SERVER_PORT, else 7860 or the next free one)")


def add_train_command(commands) -> argparse.ArgumentParser:
    """`mixwave train`: the options of train_accelerate.py (declared once, in `training.cli.add_arguments`),
    added when `mixwave train` is parsed: the trainer is imported for it alone."""
    return commands.add_parser(
        "train", arguments=add_training_arguments,
        help="train a model with Accelerate (as train_accelerate.py)",
        description="Train the Mix-Wave-U-Net on one device (several: `accelerate launch train_accelerate.py ...`, "
        "which takes the same options). Options come from --config (YAML), then --set, then the flags below; "
        "the resolved configuration is written to OUTPUT_DIR/config.yaml.")


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    from mixwave_hf.training.cli import add_arguments

    add_arguments(parser)


def add_intensity_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--intensity", type=float, default=1.0,
                        help="how much of the network's processing is heard: 1 the model as trained (default), 0 "
                        "its static balance alone (the output layer's gains and pans on the tracks), between "
                        "them a blend")



Runner = Callable[[argparse.Namespace], int]


def add_data_commands(commands, run_build: Runner, run_push: Runner, run_example: Runner, run_speed: Runner) -> None:
    """`mixwave data build {enst,folder,synth}` (each run by `run_build`), `mixwave data push` (`run_push`),
    `mixwave data example` (`run_example`) and `mixwave data speed` (`run_speed`)."""
    data = commands.add_parser("data", help="build multitrack datasets, upload them to the Hub, render an example")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    build = data_commands.add_parser("build", help="build a dataset folder (parquet shards + card)")
    builders = build.add_subparsers(dest="builder", required=True)

    def add_builder(name: str, help_text: str) -> argparse.ArgumentParser:
        builder = builders.add_parser(name, help=help_text, description=help_text)
        builder.add_argument("--train-shards", type=int, default=8,
                             help="train shards; a multiple of processes x loader workers (default 8)")
        builder.add_argument("--segment-seconds", type=float, default=30.0, help="row length (default 30 s)")
        builder.set_defaults(run=run_build)
        return builder

    enst = add_builder("enst", "ENST-drums: ENST_ROOT/drummer_{1,2,3}/audio/<track>/<name>.wav")
    enst.add_argument("root", type=Path, metavar="ENST_ROOT")
    enst.add_argument("out", type=Path, metavar="OUT")
    folder = add_builder("folder", "one folder per song: ROOT/<song>/<track files> and a mix file")
    folder.add_argument("root", type=Path, metavar="ROOT")
    folder.add_argument("out", type=Path, metavar="OUT")
    folder.add_argument("--mix-name", default="mix", help="file name (without extension) of the mix (default mix)")
    folder.add_argument("--license", default="unknown", help="licence id for the card (default unknown)")
    synth = add_builder("synth", "render the synthetic drum corpus (sampled kits, seeded)")
    synth.add_argument("out", type=Path, metavar="OUT")
    synth.add_argument("--hours", type=float, required=True, help="about how many hours to render")
    synth.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    synth.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="render processes (default: all cores)")
    synth.add_argument("--recipe", choices=["session", "classic"], default="session",
                       help="session (default: room model, brushes, unplayed toms, a light-handed engineer, the "
                       "audience's perspective) or classic (the first corpus, bit for bit)")
    synth.add_argument("--splits", nargs="+", metavar="SPLIT",
                       help="render only these splits (train validation test stress; default all), the same songs "
                       "as in the whole corpus; OUT may then be a built dataset without them, which they join")

    push = data_commands.add_parser("push", help="upload a built dataset folder to a Hub dataset repo")
    push.add_argument("directory", type=Path, metavar="DIR")
    push.add_argument("repo_id", metavar="ORG/NAME")
    push.add_argument("--private", action="store_true", help="create the repo private")
    push.set_defaults(run=run_push)
    example = data_commands.add_parser(
        "example", arguments=add_example_arguments, help="render a short example multitrack (one FLAC file per slot)",
        description="Render a short example multitrack with the synthetic drum renderer: one FLAC file per slot "
        "(the package's example is `mixwave data example mixwave_hf/examples/drums`).")
    example.set_defaults(run=run_example)
    speed = data_commands.add_parser(
        "speed", arguments=add_speed_arguments, help="measure how fast the synthetic renderer renders songs (one core)",
        description="Render a few songs after a warm-up one and print seconds of 8-track audio rendered per second.")
    speed.set_defaults(run=run_speed)


def add_example_arguments(parser: argparse.ArgumentParser) -> None:
    """`mixwave data example DIR [--seed N] [--kit KIT] [--seconds S]` (the kits: the renderer's registry)."""
    from mixwave_hf.data.synth.example import EXAMPLE_KIT, EXAMPLE_SEED
    from mixwave_hf.data.synth.kits import KITS

    parser.add_argument("out", type=Path, metavar="DIR", help="folder to write the files into")
    parser.add_argument("--seed", type=int, default=EXAMPLE_SEED, help=f"song seed (default {EXAMPLE_SEED})")
    parser.add_argument("--kit", default=EXAMPLE_KIT, choices=sorted(KITS), help=f"kit (default {EXAMPLE_KIT})")
    parser.add_argument("--seconds", type=float, default=4.0, help="length (default 4 s)")


def add_speed_arguments(parser: argparse.ArgumentParser) -> None:
    """`mixwave data speed [--kit KIT] [--seconds S] [--songs N]`."""
    from mixwave_hf.data.synth.example import EXAMPLE_KIT
    from mixwave_hf.data.synth.kits import KITS

    parser.add_argument("--kit", default=EXAMPLE_KIT, choices=sorted(KITS), help=f"kit (default {EXAMPLE_KIT})")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each song timed (default 30 s)")
    parser.add_argument("--songs", type=int, default=3, help="songs timed (default 3)")
