"""The `mixwave` command line (mix, data, evaluate, push, train, demo): thin layers over the package.

    mixwave mix stems/ -o mix.wav

Exit status: 0 on success (warnings included), 1 when an input or the model cannot be used,
2 for a malformed command line. Arguments: `cli_parser`; option checks: `cli_checks`; stems: `cli_stems`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from mixwave_hf.audio import AudioError, read_audio, resample, write_audio
from mixwave_hf.cli_checks import (
    MAX_BATCH_SIZE,
    SAMPLE_RATE_RANGE,
    CommandError,
    check_intensity,
    check_mix_options,
    check_not_an_input,
    check_output,
    check_output_file,
    parse_trims,
    resolve_device,
    warn,
)
from mixwave_hf.cli_parser import (
    add_data_commands,
    add_demo_command,
    add_evaluate_command,
    add_mix_command,
    add_push_command,
    add_train_command,
)
from mixwave_hf.cli_stems import find_stems, input_files, list_stem_files, open_stems, read_stems
from mixwave_hf.file_mixing import mix_files
from mixwave_hf.files import atomic_path, folder_relation

__all__ = ["MAX_BATCH_SIZE", "SAMPLE_RATE_RANGE", "CommandError", "build_parser", "check_intensity", "find_stems",
           "main", "missing_dependency_hint", "parse_trims", "read_stems", "warn", "write_atomically"]


#: Modules of the optional extras (pyproject.toml), by the extra that installs them.
OPTIONAL_MODULES = {"pedalboard": "data", "datasets": "data", "pyarrow": "data", "pyroomacoustics": "data",
                    "accelerate": "train",
                    "torchdata": "train", "tensorboard": "train", "yaml": "train", "gradio": "demo"}


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
    """The `mixwave` parser: each subcommand's arguments (`cli_parser`), with its runner as the `run` default."""
    parser = argparse.ArgumentParser(prog="mixwave", description="Automatic drum mixing with the Mix-Wave-U-Net.")
    commands = parser.add_subparsers(dest="command", required=True)
    add_mix_command(commands).set_defaults(run=run_mix)
    add_data_commands(commands, run_build, run_push)
    add_evaluate_command(commands).set_defaults(run=run_evaluate)
    add_push_command(commands).set_defaults(run=run_push_model)
    add_train_command(commands)
    add_demo_command(commands).set_defaults(run=run_demo)
    return parser


def run_mix(args: argparse.Namespace) -> int:
    """`mixwave mix`: check the options and the output path (never one of the inputs), match files to slots,
    check their headers, then mix them file to file in blocks (`file_mixing.mix_files`: memory bounded for any
    length)."""
    check_mix_options(args)
    check_output(args.output, args.format)
    check_not_an_input("-o", args.output, input_files(args.inputs, args.map))
    device = resolve_device(args.device)
    model = load_model(args.model)
    trims = parse_trims(args.trim, model.slot_names)
    assignment = find_stems(args.inputs, args.map, model.slot_names)
    song = open_stems(assignment, args.sample_rate, model.slot_names)
    try:
        mixed = mix_files(model, song, args.output, output_format=args.format, window_seconds=args.window_seconds,
                          batch_size=args.batch_size, device=device, progress=True,
                          peak_ceiling_db=None if args.no_limiter else args.peak_ceiling, trims=trims,
                          intensity=args.intensity, perspective=args.perspective)
    except ValueError as error:
        raise CommandError(str(error)) from error
    except MemoryError as error:
        raise CommandError(out_of_memory(song.seconds, [file.name for file in song.files], song.sample_rate)) from error
    for warning in mixed.warnings[len(song.warnings) :]:  # the reading's were printed before mixing
        warn(warning)
    seconds = mixed.samples / mixed.sample_rate
    peak = f"{20 * np.log10(mixed.output_peak):+.1f} dBFS" if mixed.output_peak > 0 else "silence"
    print(f"wrote {args.output}: {mixed.channels} channels, {mixed.sample_rate} Hz, {seconds:.2f} s, "
          f"{args.format}, {mixed.perspective}'s perspective; peak {peak}, {mixed.limited_samples} limited samples, "
          f"{mixed.clipped_samples} clipped samples")
    return 0


def out_of_memory(seconds: float, names: list[str], sample_rate: int) -> str:
    """The one line `mixwave mix` ends with when mixing `seconds` of the tracks `names` (by slot) at `sample_rate`
    Hz raises MemoryError: the song's length and tracks, and what would let it mix."""
    return (f"mixing {seconds:.0f} s ({seconds / 60:.1f} min) of {len(names)} tracks ({', '.join(names)}) at "
            f"{sample_rate} Hz ran out of memory; it needs more memory, or a shorter song (mix it in parts)")


def run_evaluate(args: argparse.Namespace) -> int:
    """`mixwave evaluate`: check the outputs (`check_evaluation_outputs`), score, print the table, write the JSON."""
    import json

    from mixwave_hf.evaluate import dataset_songs, evaluate, format_table

    if args.stems and args.reference is None:
        raise CommandError("--stems needs --reference, the mix to compare against")
    if args.examples < 0:
        raise CommandError(f"--examples {args.examples}; expected 0 or more")
    check_intensity(args.intensity)
    check_evaluation_outputs(args)
    device = resolve_device(args.device)
    if args.dataset:
        try:  # the split is opened now: a dataset that is missing or damaged ends the run before the model loads
            songs = dataset_songs(args.dataset, args.split, args.target)
        except ValueError as error:
            raise CommandError(str(error)) from error
    model = load_model(args.model)
    command = "mixwave evaluate " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["evaluate"] else ""
    if args.dataset:
        dataset, split, target = args.dataset, args.split, args.target
    else:
        songs = [reference_song(args.stems, args.reference, model.slot_names, args.perspective)]
        dataset, split, target = str(args.reference), "", "reference"
    try:
        evaluation = evaluate(model, songs, dataset=dataset, split=split, target=target, command=command,
                              examples=args.examples, examples_dir=args.examples_dir, device=str(device),
                              intensity=args.intensity, perspective=args.perspective)
    except ValueError as error:
        raise CommandError(str(error)) from error
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(evaluation, indent=2))
    print(format_table(evaluation))
    print(f"{evaluation['songs']} songs; wrote {args.output}")
    return 0


def reference_song(stems: list[str], reference_file: Path, slot_names: tuple[str, ...], perspective: str | None):
    """`mixwave evaluate --stems ... --reference FILE`'s one song: the stems matched to `slot_names` and read
    as `mix` reads them, the reference at their rate (stereo); warns when the two lengths differ (the mixes are
    scored over the reference's length)."""
    from mixwave_hf.evaluate import EvaluationSong

    tracks, rate = read_stems(find_stems(stems, [], slot_names), None)
    reference, reference_rate = read_audio(reference_file)
    reference = np.repeat(reference, 2, axis=0) if reference.shape[0] == 1 else reference[:2]
    reference = resample(reference, reference_rate, rate)
    length = max(audio.shape[-1] for audio in tracks.values())
    if abs(reference.shape[-1] - length) > 1:  # resampling may round a length by a sample
        warn(f"--reference {reference_file}: {reference.shape[-1] / rate:.2f} s long, the stems {length / rate:.2f} "
             "s: the mixes are cut or padded with silence to the reference's length to be scored")
    return EvaluationSong(reference_file.stem, tracks, reference, rate, {"perspective": perspective or "audience"})


def check_evaluation_outputs(args: argparse.Namespace) -> None:
    """CommandError, before anything is read, for an --output that cannot be written or is one of the inputs,
    and (with --examples) an --examples-dir that is a file or holds an input."""
    check_output_file(args.output, "evaluation.json")
    inputs = evaluation_inputs(args)
    check_not_an_input("--output", args.output, inputs)
    if not args.examples:
        return
    if args.examples_dir.exists() and not args.examples_dir.is_dir():
        raise CommandError(f"--examples-dir {args.examples_dir}: is a file; expected a folder (new or existing) "
                           "for the example mixes")
    held = next((path for path in inputs if folder_relation(args.examples_dir, path) in ("is", "holds")), None)
    if held is not None:
        raise CommandError(f"--examples-dir {args.examples_dir} holds the input {held}; choose another folder for "
                           "the example mixes")


def evaluation_inputs(args: argparse.Namespace) -> list[Path]:
    """The files `mixwave evaluate` reads, as given: the --stems files (as `mix` lists them) and the
    --reference, or every file of a local --dataset folder (none for a Hub id)."""
    if args.stems:
        return [*list_stem_files(args.stems)[0], args.reference]
    folder = Path(args.dataset)
    return [path for path in folder.rglob("*") if path.is_file()] if folder.is_dir() else []


def run_build(args: argparse.Namespace) -> int:
    """`mixwave data build ...`: write the dataset folder (never into or over ROOT) and print its splits."""
    from mixwave_hf.data import builders

    check_build_options(args)
    relation = folder_relation(args.out, args.root) if args.builder != "synth" else None
    if relation:
        raise CommandError(f"OUT {args.out} {relation} ROOT {args.root}: the build would write into or over the "
                           "collection it reads; choose an output folder apart from it")
    options = {key: str(value) for key, value in vars(args).items() if key not in ("run", "command", "data_command")}
    splits, notes = builders.SPLITS, []
    try:
        if args.builder == "enst":
            songs = builders.with_rows(builders.enst_songs(args.root), args.segment_seconds)
            total = builders.count_enst_songs(args.root)
            description = builders.enst_description()
        elif args.builder == "folder":
            songs = builders.with_rows(builders.song_notes(builders.folder_songs(args.root, args.mix_name,
                                                                                 args.license), notes),
                                       args.segment_seconds)
            total = None
            description = builders.folder_description(args.root, args.license)
        else:
            from mixwave_hf.data.synth import SPLITS as SYNTH_SPLITS

            splits = tuple(args.splits or SYNTH_SPLITS)
            options["splits"] = " ".join(splits)
            total, songs = builders.synth_songs(args.hours, args.seed, args.workers, args.segment_seconds, splits,
                                                args.recipe)
            description = builders.synth_description(args.recipe)
        description.parameters = options
        summary = builders.build_dataset(songs, args.out, description, train_shards=args.train_shards, total=total,
                                         splits=splits)
    except builders.BuildError as error:
        raise CommandError(str(error)) from error
    print(f"wrote {args.out}:")
    for split, figures in summary.items():
        print(f"  {split:<10} {figures['songs']:5d} songs {figures['rows']:6d} rows {figures['hours']:8.3f} h "
              f"in {figures['shards']} shards")
    for note in notes:
        print(f"note: {note}")
    return 0


def check_build_options(args: argparse.Namespace) -> None:
    """CommandError naming the first `data build` option out of range: --train-shards and (synth) --workers
    below 1, --segment-seconds and (synth) --hours not a positive finite number (NaN, inf, 0)."""
    import math

    numbers = {"--segment-seconds": args.segment_seconds, "--hours": getattr(args, "hours", 1.0)}
    for option, value in numbers.items():
        if not math.isfinite(value) or value <= 0:
            raise CommandError(f"{option} {value}; expected a positive finite number")
    for option, value in {"--train-shards": args.train_shards, "--workers": getattr(args, "workers", 1)}.items():
        if value < 1:
            raise CommandError(f"{option} {value}; expected 1 or more")


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
    """`model.load_model` for a command: CommandError naming --model if it fails."""
    from mixwave_hf.model import ModelLoadError
    from mixwave_hf.model import load_model as load

    try:
        return load(name)
    except ModelLoadError as error:
        raise CommandError(f"--model {error}") from error


def write_atomically(path: Path, audio: np.ndarray, sample_rate: int, output_format: str) -> None:
    """`write_audio` through `files.atomic_path`: a failed write leaves no partial file.

    Raises CommandError naming `path` (never the temporary file) when the write fails.
    """
    partial = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as partial:
            write_audio(partial, audio, sample_rate, output_format)
    except (OSError, RuntimeError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        reason = reason.replace(str(partial), str(path)) if partial else reason
        raise CommandError(f"{path}: cannot be written ({reason})") from error


if __name__ == "__main__":
    sys.exit(main())

