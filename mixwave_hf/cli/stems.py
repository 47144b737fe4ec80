"""Which stem files the `mixwave` commands mix: files and folders, --map SLOT=FILE, then name matching.

`find_stems(inputs, mappings, slot_names)` prints what it assigned and left out; `open_stems` checks them for
mixing in blocks, `read_stems` reads them whole; `input_files` lists every file a command could read, for the
check that no output replaces one.

    tracks, sample_rate = read_stems(find_stems(["stems/"], ["kick=bd_in.wav"], model.slot_names), None)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mixwave_hf.audio import is_audio_file, read_tracks
from mixwave_hf.cli.checks import CommandError, warn
from mixwave_hf.errors import InputError
from mixwave_hf.files import path_problem
from mixwave_hf.slots import accepted_names, assign_slots, check_overhead_pair, resolve_slot_name
from mixwave_hf.song_files import SongFiles, open_song


def find_stems(inputs: list[str], mappings: list[str], slot_names: tuple[str, ...]) -> dict[str, Path]:
    """Files by slot: explicit --map entries first, then the rest matched by name (`assign_slots`: the
    primary mic per slot). Prints the result and notes on what was left out."""
    files, skipped = list_stem_files(inputs)
    if skipped:
        print(f"note: not audio by extension, skipped: {', '.join(skipped)}")
    explicit = mapped_stems(mappings, slot_names)
    assignment, unmatched, notes = matched_stems(files, explicit, slot_names)
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


def list_stem_files(inputs: list[str]) -> tuple[list[Path], list[str]]:
    """(files, skipped names): the files named and the audio files (by extension) in the folders named, in
    order, and the names of the folders' other files. A folder's entry that is no regular file but has an
    audio extension (a broken link, a FIFO) is listed too: read, it is named in an error, never left out
    unsaid. Prints nothing; CommandError for a path named that does not exist or is no file or folder."""
    files: list[Path] = []
    skipped: list[str] = []
    for entry in inputs:
        path = Path(entry)
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.name.startswith(".") or child.is_dir():
                    continue
                if is_audio_file(child):
                    files.append(child)
                else:
                    skipped.append(child.name)
            continue
        problem = path_problem(path)
        if problem:
            raise CommandError(f"{path}: {'no such file or folder' if problem == 'no such file' else problem}; "
                               "expected an audio file or a folder of them")
        files.append(path)
    return files, skipped


def input_files(inputs: list[str], mappings: list[str]) -> list[Path]:
    """Every file of the user's that a `mix` of `inputs` and --map `mappings` may read, as given: the files
    `list_stem_files` finds (those no slot takes too: recordings all the same) and the --map files."""
    mapped = [Path(mapping.partition("=")[2]) for mapping in mappings if mapping.partition("=")[2]]
    return [*list_stem_files(inputs)[0], *mapped]


def mapped_stems(mappings: list[str], slot_names: tuple[str, ...]) -> dict[str, Path]:
    """--map SLOT=FILE entries -> {slot: file}; CommandError for a malformed entry, an unknown slot, a slot
    given twice or a file that cannot be read (`files.path_problem`: missing, a broken link, a FIFO, ...)."""
    explicit: dict[str, Path] = {}
    for mapping in mappings:
        slot_text, separator, file_text = mapping.partition("=")
        if not separator or not file_text:
            raise CommandError(f"--map {mapping}: expected SLOT=FILE, e.g. --map kick=stems/bd_in.wav")
        try:
            slot = resolve_slot_name(slot_text, slot_names)
        except InputError as error:
            raise CommandError(f"--map {mapping}: {error}") from error
        if slot in explicit:
            raise CommandError(f"--map gives slot {slot!r} twice ({explicit[slot]} and {file_text}); keep one")
        problem = path_problem(file_text)
        if problem:
            raise CommandError(f"--map {mapping}: {file_text}: {problem}; expected an audio file")
        explicit[slot] = Path(file_text)
    return explicit


def matched_stems(files: list[Path], explicit: dict[str, Path],
                  slot_names: tuple[str, ...]) -> tuple[dict[str, Path], list[str], list[str]]:
    """The files not mapped by hand matched to slots by name, then the --map entries over them:
    ({slot: file}, names no slot matches, notes). Prints a note for each match a --map entry replaces."""
    mapped = {os.path.realpath(path) for path in explicit.values()}  # realpath: no error for a link loop
    by_name = {str(path): path for path in files if os.path.realpath(path) not in mapped}
    matched, unmatched, notes = assign_slots(by_name, slot_names)
    assignment = {slot: by_name[name] for slot, name in matched.items()}
    for slot, path in list(assignment.items()):
        if slot in explicit:
            print(f"note: {path} left out: --map assigns {explicit[slot]} to {slot}")
            del assignment[slot]
    assignment.update(explicit)
    check_overhead_pair({slot: str(path) for slot, path in assignment.items()})
    return assignment, unmatched, notes


def open_stems(assignment: dict[str, Path], sample_rate: int | None, slot_names: tuple[str, ...]) -> SongFiles:
    """Check the assigned files by their headers (`song_files.open_song`), printing the reading's warnings: the
    song to mix in blocks. AudioError naming a file that cannot be read."""
    song = open_song(assignment, slot_names, sample_rate)
    for warning in song.warnings:
        warn(warning)
    return song


def read_stems(assignment: dict[str, Path], sample_rate: int | None) -> tuple[dict[str, np.ndarray], int]:
    """Read the assigned files at one rate (`audio.read_tracks`), printing its warnings: (tracks by slot, Hz)."""
    tracks, sample_rate, warnings = read_tracks(assignment, sample_rate, max_channels=2)
    for warning in warnings:
        warn(warning)
    return tracks, sample_rate

