"""What `mixwave mix`, `evaluate`, `push`, `train` and `demo` run, given their parsed arguments (`parser`).

    run_mix(build_parser().parse_args(["mix", "stems/", "-o", "mix.wav"]))
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np

from mixwave_hf.audio import read_audio, resample, write_audio
from mixwave_hf.cli.checks import (
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
from mixwave_hf.cli.stems import find_stems, input_files, list_stem_files, open_stems, read_stems
from mixwave_hf.file_mixing import mix_files
from mixwave_hf.files import atomic_path, folder_relation


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

    from mixwave_hf.evaluate import dataset_songs, evaluate
    from mixwave_hf.results import format_table

    if args.stems and args.reference is None:
        raise CommandError("--stems needs --reference, the mix to compare against")
    if args.examples < 0:
        raise CommandError(f"--examples {args.examples}; expected 0 or more")
    check_intensity(args.intensity)
    check_evaluation_outputs(args)
    device = resolve_device(args.device)
    if args.dataset:  # opened now: a dataset that is missing or damaged ends the run before the model loads
        songs = dataset_songs(args.dataset, args.split, args.target)
    model = load_model(args.model)
    command = "mixwave evaluate " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["evaluate"] else ""
    if args.dataset:
        dataset, split, target = args.dataset, args.split, args.target
    else:
        songs = [reference_song(args.stems, args.reference, model.slot_names, args.perspective)]
        dataset, split, target = str(args.reference), "", "reference"
    evaluation = evaluate(model, songs, dataset=dataset, split=split, target=target, command=command,
                          examples=args.examples, examples_dir=args.examples_dir, device=str(device),
                          intensity=args.intensity, perspective=args.perspective)
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


def run_push_model(args: argparse.Namespace) -> int:
    """`mixwave push MODEL_DIR org/name`."""
    from mixwave_hf.publish import push_model

    url = push_model(args.model_dir, args.repo_id, private=args.private, evaluation_file=args.evaluation)
    print(f"uploaded {args.model_dir} to {url}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """`mixwave demo`: build the web demo for the model and serve it until interrupted."""
    from mixwave_hf.demo import build_demo, launch_demo  # needs gradio (the `demo` extra): checked before loading

    model = load_model(args.model)
    launch_demo(build_demo(model, model_name=args.model or "the embedded default model"),
                server_name=args.host, server_port=args.port)
    return 0


def run_train(args: argparse.Namespace) -> int:
    """`mixwave train ...`: `training.cli.run_training`, as train_accelerate.py runs it (the same options,
    declared once in training; the trainer is imported only now)."""
    from mixwave_hf.training.cli import run_training

    return run_training(args, f"mixwave train {shlex.join(args.command_line[1:])}", prog="mixwave train")


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


