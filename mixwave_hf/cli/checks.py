"""The `mixwave` command line's checks of its options, made before anything is read or loaded.

A bad value raises `CommandError` (a `MixwaveError`), which `mixwave_hf.cli.main` prints as one line with exit
status 1.

    trims = parse_trims(["snare=+2", "overheads=-3"], model.slot_names)  # {"snare": 2.0, "overheads": -3.0}
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from mixwave_hf.audio import SAMPLE_RATE_RANGE, output_encoding
from mixwave_hf.errors import InputError, MixwaveError
from mixwave_hf.files import clashing_input
from mixwave_hf.mixing import MAX_WINDOW_SECONDS, slot_trims

#: The most song segments `--batch-size` mixes side by side (memory grows with it times the window).
MAX_BATCH_SIZE = 64


class CommandError(MixwaveError):
    """A problem with the user's input; printed as `mixwave: error: ...` with exit status 1."""



def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


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
    except InputError as error:
        raise CommandError(f"--trim: {error}") from error
    return trims



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

    Refused: what `check_output_file` refuses, and (an AudioError) an extension/format pair libsndfile cannot
    write (`audio.output_encoding`).
    """
    check_output_file(path, "mix.wav")
    output_encoding(path, output_format)


def check_output_file(path: Path, example: str) -> None:
    """CommandError naming `path` if a command could not write its output file there: found before any work.

    Refused: an existing folder (`example`: the file name suggested in it), a folder that is a file or
    cannot be written (checked by creating and removing a file in it), a name longer than the file system
    takes (with the characters the temporary name adds: `files.atomic_path`).
    """
    check_name_length(path)
    if path.is_dir():
        raise CommandError(f"{path}: is a folder; expected a file name such as {path / example}")
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


def check_name_length(path: Path) -> None:
    """CommandError naming `path` when a folder name in it, its file name, or its temporary name while written
    (".NAME.partial.EXT", `files.atomic_path`) is longer than the file system takes (NAME_MAX, usually 255 bytes)."""
    limit = 255
    for folder in (path.parent, *path.parent.parents):
        with contextlib.suppress(OSError, ValueError):  # a folder too long to look at, or no NAME_MAX
            if folder.is_dir():
                limit = os.pathconf(folder, "PC_NAME_MAX")
                break
    *folders, name = path.parts
    for part in folders:
        if part != path.anchor and len(os.fsencode(part)) > limit:
            raise CommandError(f"{path}: the folder name {part[:24]}... is {len(os.fsencode(part))} bytes long; this "
                               f"file system takes names of up to {limit} bytes: choose a shorter one")
    size = len(os.fsencode(name))
    if size + len("..partial") > limit:
        raise CommandError(f"{path}: the name is {size} bytes long, {size + len('..partial')} while it is written (as "
                           f".NAME.partial.EXT); this file system takes names of up to {limit} bytes: choose a shorter "
                           "name")


def check_not_an_input(option: str, output: Path, inputs: Iterable[Path]) -> None:
    """CommandError naming both if writing `output` (given as `option`, e.g. "-o") would replace one of
    `inputs` (`files.clashing_input`: the same file through any path, symbolic or hard link)."""
    clash = clashing_input(output, inputs)
    if clash is not None:
        raise CommandError(f"{option} {output} is one of the inputs ({clash}); choose another output name or folder")


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

