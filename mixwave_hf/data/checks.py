"""The checks the data options share: a ValueError names the first option out of range and what it takes.

    check_at_least(1, crops_per_segment=options.crops_per_segment)  # "crops_per_segment=0; expected ..."
"""

from __future__ import annotations

import math
import numbers


def check_at_least(minimum: int, **values: object) -> None:
    """ValueError naming the first of `values` that is not an integer >= `minimum`."""
    for name, value in values.items():
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
            raise ValueError(f"{name}={value!r}; expected an integer >= {minimum}")


def check_not_negative(**values: object) -> None:
    """ValueError naming the first of `values` that is not a finite number >= 0 (NaN and inf included)."""
    for name, value in values.items():
        if (not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value)
                or value < 0):
            raise ValueError(f"{name}={value!r}; expected a finite number >= 0")
