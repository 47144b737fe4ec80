"""Rewrite the results tables of README.md and docs/*.md from the evaluation files they name.

    python tools/readme_tables.py           # rewrite the blocks in place (after the shipped model changes)
    python tools/readme_tables.py --check   # exit 1, naming the files, when a block is out of date

A block is the text between `<!-- results: PATH -->` and `<!-- /results -->`, PATH an evaluation JSON
relative to the repository root: the short table (`results.SUMMARY_METRICS`); with `<!-- results: PATH
full -->`, every metric and the song groups. The tables are `results.markdown_table`'s, the same cells
as the model card's, and tests/test_readme.py fails when a block differs from what this script writes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's package, whatever is installed

from mixwave_hf.results import markdown_table  # noqa: E402

#: A block: its opening and closing markers each on a line of their own.
BLOCK = re.compile(r"(?P<open>^<!-- results: (?P<path>\S+?)(?P<full> full)? -->\n)(?P<body>.*?)"
                   r"(?P<close>^<!-- /results -->$)", re.DOTALL | re.MULTILINE)


def documents(root: Path = ROOT) -> list[Path]:
    """README.md and every docs/*.md under `root`."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def render(path: str, full: bool, root: Path = ROOT) -> str:
    """The Markdown table of the evaluation JSON at `path` (relative to `root`), ending in a newline."""
    evaluation = json.loads((root / path).read_text())
    table = markdown_table(evaluation, None, groups=True) if full else markdown_table(evaluation)
    return table + "\n"


def rewrite(text: str, root: Path = ROOT) -> str:
    """`text` with every results block re-rendered from its evaluation file."""
    return BLOCK.sub(lambda match: match["open"] + "\n" + render(match["path"], bool(match["full"]), root) + "\n"
                     + match["close"], text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say which files are out of date (exit 1)")
    args = parser.parse_args(argv)
    stale = []
    for document in documents():
        text = document.read_text()
        new = rewrite(text)
        if new != text:
            stale.append(document.relative_to(ROOT))
            if not args.check:
                document.write_text(new)
    verb = "out of date" if args.check else "rewritten"
    for name in stale:
        print(f"{name}: results tables {verb}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
