"""Writing files and folders so that a reader never sees half of one: `atomic_path`, `write_json`.

    with atomic_path(out_file) as partial:   # write to `partial`; renamed to `out_file` on success
        numpy.savez(partial, ...)
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
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
