"""The README's Python examples run as written.

Convention: every ```python block in README.md is executed, each in a fresh namespace, in a temporary
working directory (files it writes land there), in the order of the README. A block that is not meant
to run on its own (a fragment of a larger script, or one that needs your Hub repo) is marked by an
HTML comment on the line just above its fence, invisible where the README is rendered:

    <!-- not run: why -->

The test fails on a marker without a reason, so each skipped block says why. The runnable blocks use
the bundled example (mixwave_hf/examples/drums, 4 s) and the embedded default model: a few seconds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
NOT_RUN = re.compile(r"^<!-- not run: (?P<reason>\S.*?) -->$")


def python_blocks(text: str) -> list[tuple[int, str, str | None]]:
    """(line number, code, reason it is not run or None) of each ```python block in `text`."""
    blocks = []
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line.strip() != "```python":
            continue
        end = next(index for index in range(number + 1, len(lines)) if lines[index].strip() == "```")
        marker = NOT_RUN.match(lines[number - 1].strip()) if number else None
        assert marker or not lines[number - 1].startswith("<!-- not run"), \
            f"README.md:{number}: a `not run` marker needs a reason"
        blocks.append((number + 1, "\n".join(lines[number + 1 : end]), marker and marker["reason"]))
    return blocks


BLOCKS = python_blocks(README.read_text())


def test_the_readme_has_a_runnable_python_example():
    assert any(reason is None for _, _, reason in BLOCKS)


@pytest.mark.parametrize("line,code,reason", BLOCKS, ids=[f"README.md:{line}" for line, _, _ in BLOCKS])
def test_readme_python_block_runs(line, code, reason, tmp_path, monkeypatch):
    if reason is not None:
        pytest.skip(f"README.md:{line} is marked not run: {reason}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a block must not need the network
    exec(compile(code, f"README.md:{line}", "exec"), {"__name__": "readme_example"})
