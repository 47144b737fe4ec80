"""bench/training.py: the default configuration's rows take their steps in turns, each after its warm epoch.

bench/ is no package of the wheel: the repository's root is put on the path to import it as `bench`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import training  # noqa: E402


class Recorded:
    """A stand-in pipeline that writes what it is asked to do into a shared log."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    def warm(self) -> None:
        self.log.append(f"warm {self.name}")

    def step(self) -> None:
        self.log.append(self.name)

    def figures(self) -> dict:
        return {"steps": self.log.count(self.name)}


def test_rows_are_warmed_then_stepped_in_turns_the_order_reversed_every_other_round():
    log: list[str] = []
    figures = training.measure_in_turns({name: Recorded(name, log) for name in "abc"}, steps=3)
    assert log == ["warm a", "warm b", "warm c", "a", "b", "c", "c", "b", "a", "a", "b", "c"]
    assert figures == {name: {"steps": 3} for name in "abc"}
