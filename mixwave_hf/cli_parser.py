"""The `mixwave` command line's arguments, one function per subcommand; `mixwave_hf.cli.build_parser`
puts them together and gives each subcommand its runner.

    add_mix_command(commands).set_defaults(run=run_mix)
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from mixwave_hf.audio import OUTPUT_FORMATS
from mixwave_hf.cli_checks import MAX_BATCH_SIZE
from mixwave_hf.data.schema import TARGETS
from mixwave_hf.mixing import DEFAULT_PEAK_CEILING_DB, DEFAULT_WINDOW_SECONDS, MAX_TRIM_DB, MAX_WINDOW_SECONDS
from mixwave_hf.slots import PERSPECTIVES


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


def add_demo_command(commands) -> argparse.ArgumentParser:
    """`mixwave demo [--model M] [--host H] [--port P]`."""
    demo = commands.add_parser(
        "demo", help="serve the web demo (Gradio): upload stems, hear and download the mix",
        description="Serve the drum mixing demo in the browser: upload stems, check which slot each file feeds, "
        "hear and download the mix (the app of app.py and the Hugging Face Space). Runs until interrupted.")
    add_model_argument(demo)
    demo.add_argument("--host", default=None, help="address to listen on (default: $GRADIO_SERVER_NAME, else "
                      "127.0.0.1; 0.0.0.0 for every interface)")
    demo.add_argument("--port", type=int, default=None,
                      help="port (default: $GRADIO_SERVER_PORT, else 7860 or the next free one)")
    return demo


def add_train_command(commands) -> None:
    """`mixwave train`: the options of train_accelerate.py, taken from its parser (declared once, in training)."""
    from mixwave_hf.training import build_parser as training_parser

    commands.add_parser(
        "train", parents=[training_parser()], add_help=False,  # the parent's -h/--help serves
        help="train a model with Accelerate (as train_accelerate.py)",
        description="Train the Mix-Wave-U-Net on one device (several: `accelerate launch train_accelerate.py ...`, "
        "which takes the same options). Options come from --config (YAML), then --set, then the flags below; "
        "the resolved configuration is written to OUTPUT_DIR/config.yaml.")


def add_intensity_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--intensity", type=float, default=1.0,
                        help="how much of the network's processing is heard: 1 the model as trained (default), 0 "
                        "its static balance alone (the output layer's gains and pans on the tracks), between "
                        "them a blend")



def add_data_commands(commands, run_build: Callable[[argparse.Namespace], int],
                      run_push: Callable[[argparse.Namespace], int]) -> None:
    """`mixwave data build {enst,folder,synth}` (each run by `run_build`) and `mixwave data push` (`run_push`)."""
    data = commands.add_parser("data", help="build multitrack datasets and upload them to the Hub")
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
