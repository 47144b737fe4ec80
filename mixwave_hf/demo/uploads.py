"""The demo's uploads: the request limits, checks of each uploaded file, and which file feeds which slot.

`upload_note(names, slot_names, limits)` assigns the uploads by name (`upload_names`) and says what was
left out; `chosen_files` turns the slot menus' choices into {slot: path}.

    assigned, note = upload_note(upload_names(paths), model.slot_names, Limits())
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import soundfile

from mixwave_hf.audio import AUDIO_EXTENSIONS
from mixwave_hf.errors import MixwaveError
from mixwave_hf.slots import accepted_names, assign_slots, check_overhead_pair

#: Longest accepted track, in seconds.
MAX_SECONDS = 600.0
#: Largest accepted upload, in MiB (also enforced by the server while uploading). MiB, not 10^6 bytes:
#: the browser's "file too large" message divides by 1024² (and calls it "Mb"), so both say 200.
MAX_FILE_MIB = 200
MIB = 2**20
#: Most files in one request.
MAX_FILES = 16
#: The slot menus' entry for "no file".
EMPTY = "(empty)"


class DemoError(MixwaveError, ValueError):
    """A problem with the user's uploads or choices; shown to the user as the request's error."""


@dataclass(frozen=True)
class Limits:
    """What one request may upload: `max_seconds` per track, `max_file_bytes` per file, `max_files` in all."""

    max_seconds: float = MAX_SECONDS
    max_file_bytes: int = MAX_FILE_MIB * MIB
    max_files: int = MAX_FILES

    def describe(self) -> str:
        return (f"up to {self.max_files} files, each at most {mebibytes(self.max_file_bytes)} and "
                f"{self.max_seconds / 60:g} minutes long")


def mebibytes(size: int) -> str:
    """A size in bytes as the page writes it, e.g. "200 MiB" (1 MiB = 1024² bytes, the browser's unit)."""
    return f"{size / MIB:.4g} MiB"


def upload_names(paths: Sequence[str | Path] | None) -> dict[str, Path]:
    """Uploaded file paths by the name the user sees: the file name, with " (2)", ... for repeats."""
    names: dict[str, Path] = {}
    for path in paths or []:
        path = Path(path)
        name, count = path.name, 1
        while name in names:
            count += 1
            name = f"{path.name} ({count})"
        names[name] = path
    return names


def check_upload(name: str, path: Path, limits: Limits) -> soundfile._SoundFileInfo:
    """The file's `soundfile.info`; DemoError naming `name` when it is too large, unreadable, too long or
    has more than 2 channels."""
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise DemoError(f"{name}: {size / MIB:.1f} MiB; files of at most {mebibytes(limits.max_file_bytes)} "
                        "are accepted")
    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
        reason = str(error).replace(str(path), name)  # libsndfile quotes the server's temporary path
        raise DemoError(f"{name}: cannot be read as audio ({reason}); expected a WAV, FLAC, AIFF, OGG or MP3 file "
                        "(extensions " + ", ".join(AUDIO_EXTENSIONS) + ")") from error
    if info.frames > limits.max_seconds * info.samplerate:
        raise DemoError(f"{name}: {info.frames / info.samplerate:.1f} s long; tracks of at most "
                        f"{limits.max_seconds:g} s ({limits.max_seconds / 60:g} min) are accepted")
    if info.channels > 2:
        raise DemoError(f"{name}: {info.channels} channels; expected mono, or stereo for the overhead pair")
    return info


def check_file_count(names: dict[str, Path], limits: Limits) -> None:
    if len(names) > limits.max_files:
        raise DemoError(f"{len(names)} files uploaded; at most {limits.max_files} are accepted in one mix")


def upload_note(names: dict[str, Path], slot_names: Sequence[str], limits: Limits) -> tuple[dict[str, str], str]:
    """The automatic assignment of the uploads ({slot: name}) and a Markdown note on what was left out
    or will not be accepted."""
    if not names:
        return {}, f"Upload your drum tracks ({limits.describe()}), or pick the example below."
    assigned, unmatched, slot_notes = assign_slots(list(names), slot_names, strict=False)
    notes = [f"{len(assigned)} of {len(names)} files assigned by name; check the slots below."]
    if unmatched:
        notes.append(f"**Left out, no slot matches the name:** {', '.join(unmatched)}. Pick a slot for a file "
                     f"by hand if it belongs to one (names such as {', '.join(accepted_names(slot_names))}).")
    if slot_notes:  # the primary mic per slot, as in the CLI: other mics and room mics are left out
        notes.append("**Check:** " + "; ".join(slot_notes) + ". Change the slots by hand to use a file left out.")
    if len(names) > limits.max_files:
        notes.append(f"**Too many files:** {len(names)}; at most {limits.max_files} are accepted.")
    empty = []
    for name, path in names.items():
        try:
            if check_upload(name, path, limits).frames == 0:
                empty.append(name)
        except DemoError as error:
            notes.append(f"**Cannot be used:** {error}")
    if empty:
        notes.append(f"**Empty (0 samples):** {', '.join(empty)}; an empty track adds silence.")
    return assigned, "\n\n".join(html.escape(note, quote=False) for note in notes)


def chosen_files(names: dict[str, Path], choices: dict[str, str | None], slot_names: Sequence[str],
                 limits: Limits) -> dict[str, Path]:
    """{slot: path} from the slot menus ({slot: file name or EMPTY}); DemoError on a name that was not
    uploaded, the overhead pair given twice, no slot filled, or an unusable file."""
    check_file_count(names, limits)
    assignment: dict[str, Path] = {}
    for slot, name in choices.items():
        if name in (None, "", EMPTY):
            continue
        if name not in names:
            raise DemoError(f"slot {slot}: {name!r} is not one of the uploaded files ({', '.join(names) or 'none'})")
        assignment[slot] = names[name]
    if not assignment:
        uploaded = ", ".join(names) if names else "none"
        raise DemoError(f"no file is assigned to a slot (uploaded: {uploaded}); name files after their slot "
                        f"({', '.join(accepted_names(slot_names))}) or pick them in the slot menus")
    try:
        check_overhead_pair({slot: path.name for slot, path in assignment.items()})
    except MixwaveError as error:
        raise DemoError(str(error)) from error
    paths_named = {path: name for name, path in names.items()}
    for path in set(assignment.values()):
        check_upload(paths_named[path], path, limits)
    return assignment

