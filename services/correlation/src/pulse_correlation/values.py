"""The one meaning of a number that is not defined (an interval from one answer, a
correlation of a constant...): what the proto carries for it."""

from __future__ import annotations

import math


def as_sent(value: float) -> float:
    """``value`` as the proto carries it: 0.0 when it is not a finite number.

    The proto has no "not computable" marker yet, so an undefined value travels as 0.0;
    every place that sends such a value goes through here, so changing that meaning is one
    edit."""
    return float(value) if math.isfinite(value) else 0.0
