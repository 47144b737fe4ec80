"""The README's and docs' Python examples run as written; their results tables are the shipped files'.

Convention: every ```python block in README.md and docs/*.md is executed, each in a fresh namespace, in a
temporary working directory (files it writes land there), in the order of its file. A block that is not
meant to run on its own (a fragment of a larger script, or one that needs your Hub repo) is marked by an
HTML comment on the line just above its fence, invisible where the Markdown is rendered:

    <!-- not run: why -->

The test fails on a marker without a reason, so each skipped block says why. The runnable blocks use
the bundled example (mixwave_hf/examples/drums, 4 s) and the embedded default model: a few seconds.

Results tables sit between `<!-- results: EVALUATION.json -->` and `<!-- /results -->`; they must be what
`python tools/readme_tables.py` renders from that file (run it after the shipped model changes), and the
default model's card must show the same figures. Relative links must point at files and headings that exist.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from mixwave_hf import metrics
from mixwave_hf.evaluate import results_table
from mixwave_hf.resources import DEFAULT_MODEL_DIR

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
NOT_RUN = re.compile(r"^<!-- not run: (?P<reason>\S.*?) -->$")


def python_blocks(text: str, name: str = "README.md") -> list[tuple[int, str, str | None]]:
    """(line number, code, reason it is not run or None) of each ```python block in `text` (of file `name`)."""
    blocks = []
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line.strip() != "```python":
            continue
        end = next(index for index in range(number + 1, len(lines)) if lines[index].strip() == "```")
        marker = NOT_RUN.match(lines[number - 1].strip()) if number else None
        assert marker or not lines[number - 1].startswith("<!-- not run"), \
            f"{name}:{number}: a `not run` marker needs a reason"
        blocks.append((number + 1, "\n".join(lines[number + 1 : end]), marker and marker["reason"]))
    return blocks


BLOCKS = [(f"{path.relative_to(ROOT)}:{line}", code, reason)
          for path in DOCUMENTS for line, code, reason in python_blocks(path.read_text(), path.name)]


def readme_tables():
    """tools/readme_tables.py, loaded as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "tools" / "readme_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_has_a_runnable_python_example():
    assert any(reason is None for place, _, reason in BLOCKS if place.startswith("README.md:"))


@pytest.mark.parametrize("place,code,reason", BLOCKS, ids=[place for place, _, _ in BLOCKS])
def test_python_block_runs(place, code, reason, tmp_path, monkeypatch):
    if reason is not None:
        pytest.skip(f"{place} is marked not run: {reason}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a block must not need the network
    exec(compile(code, place, "exec"), {"__name__": "readme_example"})


def test_the_readme_shows_the_default_models_results_from_its_evaluation_file():
    assert "<!-- results: mixwave_hf/pretrained/evaluation.json -->" in README.read_text()


@pytest.mark.parametrize("path", DOCUMENTS, ids=[str(path.relative_to(ROOT)) for path in DOCUMENTS])
def test_results_tables_are_rendered_from_the_evaluation_files(path):
    text = path.read_text()
    assert text == readme_tables().rewrite(text), \
        f"{path.relative_to(ROOT)}: a results table differs from its evaluation file: run python tools/readme_tables.py"


def test_the_default_models_card_shows_the_shipped_evaluations_headline_figures():
    """The card (rendered when the model was saved) and the README's tables come from the same files."""
    card = (DEFAULT_MODEL_DIR / "README.md").read_text()
    evaluations = sorted(DEFAULT_MODEL_DIR.glob("evaluation*.json"))
    assert evaluations
    for path in evaluations:
        _, rows = results_table(json.loads(path.read_text()))
        headline = next(row for row in rows if row["metric"] == metrics.HEADLINE_METRIC)
        assert " | ".join(headline["cells"]) in card, \
            f"the card's {metrics.HEADLINE_METRIC} row differs from {path.name}"


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors of the Markdown headings in `text` (lower case, punctuation dropped, spaces -> '-')."""
    anchors = set()
    for line in text.splitlines():
        if line.startswith("#") and not line.startswith("#!"):
            title = line.lstrip("#").strip().lower().replace("`", "")
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("path", DOCUMENTS, ids=[str(path.relative_to(ROOT)) for path in DOCUMENTS])
def test_relative_links_point_at_files_and_headings_that_exist(path):
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # a URL
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists() or (anchor and linked.suffix == ".md"
                                   and anchor not in heading_anchors(linked.read_text())):
            broken.append(target)
    assert not broken, f"{path.relative_to(ROOT)}: broken links {broken}"
