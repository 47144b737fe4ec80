"""The `mixwave` command line (mix, data, evaluate, push, train, demo): thin layers over the package.

    mixwave mix stems/ -o mix.wav

Exit status: 0 on success (warnings included), 1 when an input or the model cannot be used,
2 for a malformed command line.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from mixwave_hf.audio import (
    OUTPUT_FORMATS,
    AudioError,
    is_audio_file,
    output_encoding,
    read_audio,
    read_tracks,
    resample,
    write_audio,
)
from mixwave_hf.mixing import (
    DEFAULT_PEAK_CEILING_DB,
    DEFAULT_WINDOW_SECONDS,
    MAX_TRIM_DB,
    MAX_WINDOW_SECONDS,
    mix_tracks,
    slot_trims,
    warnings_beyond_reading,
)
from mixwave_hf.slots import accepted_names, assign_slots, check_overhead_pair, resolve_slot_name

#: Output sample rates `--sample-rate` accepts (Hz): telephone band to the highest studio rate.
SAMPLE_RATE_RANGE = (8_000, 384_000)
#: The most song segments `--batch-size` mixes side by side (memory grows with it times the window).
MAX_BATCH_SIZE = 64


#: Modules of the optional extras (pyproject.toml), by the extra that installs them.
OPTIONAL_MODULES = {"pedalboard": "data", "datasets": "data", "pyarrow": "data", "accelerate": "train",
                    "torchdata": "train", "tensorboard": "train", "yaml": "train", "gradio": "demo"}


class CommandError(Exception):
    """A problem with the user's input; printed as `mixwave: error: ...` with exit status 1."""


def main(argv: list[str] | None = None) -> int:
    """Run `mixwave` with `argv` (default: sys.argv[1:]); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":  # train_accelerate.py's entry point, which reads its own arguments again
            return run_train(argv[1:])
        return args.run(args)
    except (CommandError, AudioError) as error:
        print(f"mixwave: error: {error}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as error:
        hint = missing_dependency_hint(error.name or "")
        if hint is None:
            raise
        command = " ".join(str(part) for part in (args.command, getattr(args, "data_command", None),
                                                  getattr(args, "builder", None)) if part)
        print(f"mixwave: error: `mixwave {command}` needs {error.name.split('.')[0]}, which is not installed; "
              f"{hint}", file=sys.stderr)
        return 1


def missing_dependency_hint(module: str) -> str | None:
    """How to install the optional dependency `module` (e.g. "pyarrow.parquet"), or None if it is not one."""
    root = module.split(".")[0]
    if root == "tinysoundfont":  # its pyaudio dependency does not build without PortAudio headers
        return "install it with: pip install --no-deps tinysoundfont"
    extra = OPTIONAL_MODULES.get(root)
    return f"install the `{extra}` extra: pip install 'mixwave-hf[{extra}]'" if extra else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mixwave", description="Automatic drum mixing with the Mix-Wave-U-Net.")
    commands = parser.add_subparsers(dest="command", required=True)

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
    mix.add_argument("--model", help="model directory or Hugging Face Hub repo id (default: the embedded model)")
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
    mix.set_defaults(run=run_mix)
    add_data_commands(commands)

    evaluate = commands.add_parser(
        "evaluate", help="score a model and the baselines against reference mixes",
        description="Score a model beside the baselines (plain sum, loudness-matched sum, rule-based mix): "
        "on every song of a dataset split (--dataset), or on one song (--stems and --reference).")
    evaluate.add_argument("--model", help="model directory or Hugging Face Hub repo id (default: the embedded model)")
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="dataset folder or Hub dataset repo id")
    source.add_argument("--stems", nargs="+", metavar="STEMS_DIR_OR_FILE", help="one song's stems (with --reference)")
    evaluate.add_argument("--reference", type=Path, help="the reference mix of --stems")
    evaluate.add_argument("--split", default="test", help="dataset split (default test)")
    evaluate.add_argument("--target", choices=["wet", "dry"], default="wet", help="reference mix (default wet)")
    evaluate.add_argument("--output", type=Path, default=Path("evaluation.json"),
                          help="where to write the JSON (default evaluation.json)")
    evaluate.add_argument("--examples", type=int, default=0, help="write the mixes of the first N songs")
    evaluate.add_argument("--examples-dir", type=Path, default=Path("evaluation-examples"),
                          help="folder for --examples (default evaluation-examples)")
    evaluate.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    add_intensity_argument(evaluate)
    evaluate.set_defaults(run=run_evaluate)

    push = commands.add_parser("push", help="upload a model folder to a Hub model repo, with its card",
                               description="Upload a model folder (save_pretrained's files) to a Hub repo; the "
                               "model card is rendered for that repo from the folder's training.json and "
                               "evaluation.json and validated before anything is uploaded.")
    push.add_argument("model_dir", type=Path, metavar="MODEL_DIR")
    push.add_argument("repo_id", metavar="ORG/NAME")
    push.add_argument("--private", action="store_true", help="create the repo private")
    push.add_argument("--evaluation", type=Path, help="an evaluation JSON to show (default MODEL_DIR/evaluation.json)")
    push.set_defaults(run=run_push_model)
    add_train_command(commands)

    demo = commands.add_parser(
        "demo", help="serve the web demo (Gradio): upload stems, hear and download the mix",
        description="Serve the drum mixing demo in the browser: upload stems, check which slot each file feeds, "
        "hear and download the mix (the app of app.py and the Hugging Face Space). Runs until interrupted.")
    demo.add_argument("--model", help="model directory or Hugging Face Hub repo id (default: the embedded model)")
    demo.add_argument("--host", default=None, help="address to listen on (default: $GRADIO_SERVER_NAME, else "
                      "127.0.0.1; 0.0.0.0 for every interface)")
    demo.add_argument("--port", type=int, default=None,
                      help="port (default: $GRADIO_SERVER_PORT, else 7860 or the next free one)")
    demo.set_defaults(run=run_demo)
    return parser


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


def check_intensity(intensity: float) -> None:
    """CommandError for an --intensity outside 0..1."""
    if not 0.0 <= intensity <= 1.0:
        raise CommandError(f"--intensity {intensity}; expected 0 (the model's static balance) to 1 (the full mix)")


def parse_trims(texts: list[str], slot_names: tuple[str, ...]) -> dict[str, float]:
    """--trim SLOT=DB entries -> {name as given: dB}, checked against the model's slots (`mixing.slot_trims`)."""
    trims: dict[str, float] = {}
    for text in texts:
        name, separator, value = text.partition("=")
        if name.strip() in trims:
            raise CommandError(f"--trim gives {name.strip()!r} twice; keep one")
        try:
            trims[name.strip()] = float(value)
        except ValueError:
            separator = ""
        if not separator or not name.strip():
            raise CommandError(f"--trim {text}: expected SLOT=DB, e.g. --trim snare=+2 or --trim overheads=-3")
    try:
        slot_trims(trims, slot_names)
    except ValueError as error:
        raise CommandError(f"--trim: {error}") from error
    return trims


def add_data_commands(commands) -> None:
    """`mixwave data build {enst,folder,synth}` and `mixwave data push`."""
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
    synth.add_argument("--splits", nargs="+", metavar="SPLIT",
                       help="render only these splits (train validation test stress; default all), the same songs "
                       "as in the whole corpus; OUT may then be a built dataset without them, which they join")

    push = data_commands.add_parser("push", help="upload a built dataset folder to a Hub dataset repo")
    push.add_argument("directory", type=Path, metavar="DIR")
    push.add_argument("repo_id", metavar="ORG/NAME")
    push.add_argument("--private", action="store_true", help="create the repo private")
    push.set_defaults(run=run_push)


def run_mix(args: argparse.Namespace) -> int:
    """`mixwave mix`: check the options and the output path, match files to slots, read, mix, write."""
    check_mix_options(args)
    check_output(args.output, args.format)
    device = resolve_device(args.device)
    model = load_model(args.model)
    trims = parse_trims(args.trim, model.slot_names)
    assignment = find_stems(args.inputs, args.map, model.slot_names)
    tracks, sample_rate = read_stems(assignment, args.sample_rate)
    try:
        mixed = mix_tracks(model, tracks, sample_rate, window_seconds=args.window_seconds,
                           batch_size=args.batch_size, device=device, progress=True,
                           peak_ceiling_db=None if args.no_limiter else args.peak_ceiling, trims=trims,
                           intensity=args.intensity)
    except ValueError as error:
        raise CommandError(str(error)) from error
    for warning in warnings_beyond_reading(mixed, tracks):
        warn(warning)
    write_atomically(args.output, mixed.audio, mixed.sample_rate, args.format)
    seconds = mixed.audio.shape[-1] / mixed.sample_rate
    written_peak = float(np.abs(mixed.audio).max()) if mixed.audio.size else 0.0
    peak = f"{20 * np.log10(written_peak):+.1f} dBFS" if written_peak > 0 else "silence"
    print(f"wrote {args.output}: {mixed.audio.shape[0]} channels, {mixed.sample_rate} Hz, {seconds:.2f} s, "
          f"{args.format}; peak {peak}, {mixed.limited_samples} limited samples, {mixed.clipped_samples} clipped "
          "samples")
    return 0


def check_mix_options(args: argparse.Namespace) -> None:
    """CommandError for a `mix` option out of range (before anything is read or loaded)."""
    if not math.isfinite(args.window_seconds) or args.window_seconds <= 0:
        raise CommandError(f"--window-seconds {args.window_seconds}; expected a positive number of seconds "
                           f"(at most {MAX_WINDOW_SECONDS:g} s are used)")
    if args.batch_size is not None and not 1 <= args.batch_size <= MAX_BATCH_SIZE:
        raise CommandError(f"--batch-size {args.batch_size}; expected 1 to {MAX_BATCH_SIZE}")
    low, high = SAMPLE_RATE_RANGE
    if args.sample_rate is not None and not low <= args.sample_rate <= high:
        raise CommandError(f"--sample-rate {args.sample_rate}; expected {low} to {high} Hz")
    check_intensity(args.intensity)


def check_output(path: Path, output_format: str) -> None:
    """CommandError naming `path` if the mix could not be written there: found before any mixing.

    Refused: an existing folder, an extension/format pair libsndfile cannot write (`audio.output_encoding`),
    a folder that is a file or cannot be written (checked by creating and removing a file in it).
    """
    if path.is_dir():
        raise CommandError(f"{path}: is a folder; expected a file name such as {path / 'mix.wav'}")
    try:
        output_encoding(path, output_format)
    except AudioError as error:
        raise CommandError(str(error)) from error
    folder = existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # the folders still to be created are made in the nearest existing one
    if not existing.is_dir():
        raise CommandError(f"{path}: cannot be written: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CommandError(f"{path}: cannot be written: the folder {existing} is not writable")
    if existing == folder:
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as error:
            raise CommandError(f"{path}: cannot be written in {folder} ({error.strerror or error})") from error


def resolve_device(name: str | None):
    """A torch.device from --device (default: cuda if available, else cpu); CommandError if unusable."""
    import torch

    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise CommandError(f"--device {name}: not a torch device ({error}); expected cpu, cuda or cuda:N") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise CommandError(f"--device {name}: CUDA is not available on this machine; use --device cpu")
    return device


def run_evaluate(args: argparse.Namespace) -> int:
    """`mixwave evaluate`: score, print the table, write the JSON."""
    import json

    from mixwave_hf.evaluate import EvaluationSong, dataset_songs, evaluate, format_table

    if args.stems and args.reference is None:
        raise CommandError("--stems needs --reference, the mix to compare against")
    if args.examples < 0:
        raise CommandError(f"--examples {args.examples}; expected 0 or more")
    check_intensity(args.intensity)
    device = resolve_device(args.device)
    model = load_model(args.model)
    command = "mixwave evaluate " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["evaluate"] else ""
    if args.dataset:
        songs = dataset_songs(args.dataset, args.split, args.target)
        dataset, split, target = args.dataset, args.split, args.target
    else:
        tracks, rate = read_stems(find_stems(args.stems, [], model.slot_names), None)
        reference, reference_rate = read_audio(args.reference)
        reference = np.repeat(reference, 2, axis=0) if reference.shape[0] == 1 else reference[:2]
        songs = [EvaluationSong(args.reference.stem, tracks, resample(reference, reference_rate, rate), rate)]
        dataset, split, target = str(args.reference), "", "reference"
    try:
        evaluation = evaluate(model, songs, dataset=dataset, split=split, target=target, command=command,
                              examples=args.examples, examples_dir=args.examples_dir, device=str(device),
                              intensity=args.intensity)
    except ValueError as error:
        raise CommandError(str(error)) from error
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(evaluation, indent=2))
    print(format_table(evaluation))
    print(f"{evaluation['songs']} songs; wrote {args.output}")
    return 0


def run_build(args: argparse.Namespace) -> int:
    """`mixwave data build ...`: write the dataset folder and print its splits."""
    from mixwave_hf.data import builders

    if args.train_shards < 1 or args.segment_seconds <= 0:
        raise CommandError("--train-shards must be at least 1 and --segment-seconds positive")
    options = {key: str(value) for key, value in vars(args).items() if key not in ("run", "command", "data_command")}
    splits = builders.SPLITS
    try:
        if args.builder == "enst":
            songs = builders.with_rows(builders.enst_songs(args.root), args.segment_seconds)
            total = builders.count_enst_songs(args.root)
            description = builders.enst_description()
        elif args.builder == "folder":
            songs = builders.with_rows(builders.folder_songs(args.root, args.mix_name, args.license),
                                       args.segment_seconds)
            total = None
            description = builders.folder_description(args.root, args.license)
        else:
            if args.hours <= 0 or args.workers < 1:
                raise CommandError("--hours must be positive and --workers at least 1")
            from mixwave_hf.data.synth import SPLITS as SYNTH_SPLITS

            splits = tuple(args.splits or SYNTH_SPLITS)
            options["splits"] = " ".join(splits)
            total, songs = builders.synth_songs(args.hours, args.seed, args.workers, args.segment_seconds, splits)
            description = builders.synth_description()
        description.parameters = options
        summary = builders.build_dataset(songs, args.out, description, train_shards=args.train_shards, total=total,
                                         splits=splits)
    except builders.BuildError as error:
        raise CommandError(str(error)) from error
    print(f"wrote {args.out}:")
    for split, figures in summary.items():
        print(f"  {split:<10} {figures['songs']:5d} songs {figures['rows']:6d} rows {figures['hours']:8.3f} h "
              f"in {figures['shards']} shards")
    return 0


def run_push_model(args: argparse.Namespace) -> int:
    """`mixwave push MODEL_DIR org/name`."""
    from mixwave_hf.publish import push_model

    try:
        url = push_model(args.model_dir, args.repo_id, private=args.private, evaluation_file=args.evaluation)
    except ValueError as error:
        raise CommandError(str(error)) from error
    print(f"uploaded {args.model_dir} to {url}")
    return 0


def run_train(arguments: list[str]) -> int:
    """`mixwave train ...`: `training.main`, the entry point of train_accelerate.py, with the same arguments."""
    from mixwave_hf.training import main as train_main

    return train_main(arguments, prog="mixwave train")


def run_demo(args: argparse.Namespace) -> int:
    """`mixwave demo`: build the web demo for the model and serve it until interrupted."""
    from mixwave_hf.demo import build_demo, launch_demo  # needs gradio (the `demo` extra): checked before loading

    model = load_model(args.model)
    launch_demo(build_demo(model, model_name=args.model or "the embedded default model"),
                server_name=args.host, server_port=args.port)
    return 0


def run_push(args: argparse.Namespace) -> int:
    """`mixwave data push DIR org/name`."""
    from mixwave_hf.data.push import push_dataset

    try:
        url = push_dataset(args.directory, args.repo_id, private=args.private)
    except ValueError as error:
        raise CommandError(str(error)) from error
    print(f"uploaded {args.directory} to {url}")
    return 0


def load_model(name: str | None):
    """MixWaveUNet from a directory or Hub repo id (None: the embedded default); CommandError if it fails."""
    from mixwave_hf.model import MixWaveUNet

    if name is not None and os.path.isdir(name) and not os.path.exists(os.path.join(name, "model.safetensors")):
        raise CommandError(f"--model {name}: the folder holds no model.safetensors; expected a folder "
                           "written by save_pretrained (config.json + model.safetensors) or a Hub repo id")
    try:
        return MixWaveUNet.from_pretrained(name)
    except Exception as error:  # noqa: BLE001 - any failure to load is reported the same way
        raise CommandError(f"--model {name or '(the embedded default)'}: cannot load a model "
                           f"({type(error).__name__}: {error}); expected a directory written by save_pretrained "
                           "or a Hub repo id") from error


def find_stems(inputs: list[str], mappings: list[str], slot_names: tuple[str, ...]) -> dict[str, Path]:
    """Files by slot: explicit --map entries first, then the rest matched by name (`assign_slots`: the
    primary mic per slot). Prints the result and notes on what was left out."""
    files: list[Path] = []
    skipped: list[str] = []
    for entry in inputs:
        path = Path(entry)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.name.startswith(".") or not child.is_file():
                    continue
                if is_audio_file(child):
                    files.append(child)
                else:
                    skipped.append(child.name)
        elif path.is_file():
            files.append(path)
        else:
            raise CommandError(f"{path}: no such file or folder")
    if skipped:
        print(f"note: not audio by extension, skipped: {', '.join(skipped)}")

    explicit: dict[str, Path] = {}
    for mapping in mappings:
        slot_text, separator, file_text = mapping.partition("=")
        if not separator or not file_text:
            raise CommandError(f"--map {mapping}: expected SLOT=FILE, e.g. --map kick=stems/bd_in.wav")
        try:
            slot = resolve_slot_name(slot_text, slot_names)
        except ValueError as error:
            raise CommandError(f"--map {mapping}: {error}") from error
        if slot in explicit:
            raise CommandError(f"--map gives slot {slot!r} twice ({explicit[slot]} and {file_text}); keep one")
        if not Path(file_text).is_file():
            raise CommandError(f"--map {mapping}: {file_text}: no such file")
        explicit[slot] = Path(file_text)

    mapped = {path.resolve() for path in explicit.values()}
    by_name = {str(path): path for path in files if path.resolve() not in mapped}
    try:
        matched, unmatched, notes = assign_slots(by_name, slot_names)
        assignment = {slot: by_name[name] for slot, name in matched.items()}
        for slot, path in list(assignment.items()):
            if slot in explicit:
                print(f"note: {path} left out: --map assigns {explicit[slot]} to {slot}")
                del assignment[slot]
        assignment.update(explicit)
        check_overhead_pair({slot: str(path) for slot, path in assignment.items()})
    except ValueError as error:
        raise CommandError(str(error)) from error

    for note in notes:
        print(f"note: {note}")
    if unmatched:
        warn(f"no slot matches {', '.join(unmatched)}: left out (slots: {', '.join(accepted_names(slot_names))}; "
             "use --map SLOT=FILE to include one)")
    if not assignment:
        found = ", ".join(str(path) for path in files) or "no audio files"
        raise CommandError(f"no file matches any slot (found: {found}); expected names such as "
                           f"{', '.join(accepted_names(slot_names))}, or --map SLOT=FILE")
    order = accepted_names(slot_names)
    for slot in sorted(assignment, key=order.index):
        print(f"  {slot:<11} <- {assignment[slot]}")
    return assignment


def read_stems(assignment: dict[str, Path], sample_rate: int | None) -> tuple[dict[str, np.ndarray], int]:
    """Read the assigned files at one rate (`audio.read_tracks`), printing its warnings: (tracks by slot, Hz)."""
    tracks, sample_rate, warnings = read_tracks(assignment, sample_rate, max_channels=2)
    for warning in warnings:
        warn(warning)
    return tracks, sample_rate


def write_atomically(path: Path, audio: np.ndarray, sample_rate: int, output_format: str) -> None:
    """Write to a temporary file beside `path`, then rename: a failed write leaves no partial file.

    Raises CommandError naming `path` (never the temporary file) when the write fails.
    """
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(suffix=path.suffix, prefix=f".{path.stem}.", dir=path.parent)
        os.close(handle)
        write_audio(temporary, audio, sample_rate, output_format)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes files private; the mix is an ordinary file
        os.replace(temporary, path)
    except BaseException as error:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        if isinstance(error, (OSError, RuntimeError, ValueError)):
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            reason = reason.replace(temporary, str(path)) if temporary else reason
            raise CommandError(f"{path}: cannot be written ({reason})") from error
        raise


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
