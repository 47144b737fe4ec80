"""Writing files and folders so that a reader never sees half of one (`atomic_path`, `write_json`), and
never over an input of the same command (`clashing_input`, `folder_relation`); why a path is no file to
read (`path_problem`).

    with atomic_path(out_file) as partial:   # write to `partial`; renamed to `out_file` on success
        numpy.savez(partial, ...)
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` (".STEM.partial.SUFFIX": writers that go by the extension still
    can) for the block to write a file or a folder to; when the block succeeds it replaces `path` (a
    folder whole), when it fails it is removed."""
    path = Path(path)
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    _remove(partial)
    try:
        yield partial
    except BaseException:
        _remove(partial)
        raise
    if partial.is_dir() and path.exists():
        _remove(path)  # a folder cannot be renamed over another
    partial.replace(path)


def write_json(path: str | Path, values: Any) -> None:
    """`values` as indented JSON (NaN allowed), written atomically."""
    with atomic_path(path) as partial:
        partial.write_text(json.dumps(values, indent=2, allow_nan=True) + "\n")


def same_file(first: str | Path, second: str | Path) -> bool:
    """Whether two paths name one file or folder: through any path, symbolic link or hard link (where both
    exist), else by their resolved paths."""
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist (yet), or is a symbolic link loop (realpath never raises)
        return os.path.realpath(first) == os.path.realpath(second)


def clashing_input(output: str | Path, inputs: Iterable[str | Path]) -> Path | None:
    """The first of `inputs` that writing the file `output` would replace (`same_file`), or None."""
    return next((Path(path) for path in inputs if same_file(output, path)), None)


def folder_relation(folder: str | Path, path: str | Path) -> str | None:
    """How a folder a command writes (or replaces whole) meets an input `path`, resolved: "is" (the same),
    "holds" (the input lies inside it), "lies inside" (it lies inside the input), or None (apart)."""
    if same_file(folder, path):
        return "is"
    folder, path = Path(os.path.realpath(folder)), Path(os.path.realpath(path))
    return "holds" if folder in path.parents else "lies inside" if path in folder.parents else None


#: What a path that is not a regular file is, by its `stat` file type.
FILE_TYPES = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
              (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def path_problem(path: str | Path) -> str | None:
    """Why `path` cannot be read as a file, or None when it can: "no such file", "a broken symbolic link (to
    missing.wav)", "a symbolic link loop", "not a regular file (a FIFO)" (a named pipe; or a character device,
    ...: a FIFO would block a reader forever), "permission denied". Only `stat` and `os.access`: nothing is
    opened."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError as error:
        if not path.is_symlink():
            return "no such file" if error.errno == errno.ENOENT else error.strerror or str(error)
        if error.errno == errno.ELOOP:
            return "a symbolic link loop"
        return f"a broken symbolic link (to {os.readlink(path)})"
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in FILE_TYPES if test(mode)), "a special file")
        return f"not a regular file ({kind})"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None
