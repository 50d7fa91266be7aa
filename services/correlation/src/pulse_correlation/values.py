"""The one meaning of a number that is not defined (an interval from one answer, a
correlation of a constant...): what the protos carry for it."""

from __future__ import annotations

import math

NOT_COMPUTABLE = math.nan


def reported(value: float) -> float:
    """``value`` as a linkage report carries it: NaN ("not computable") when it is not a
    finite number, never 0. Every NaN in a report comes with the reason beside it (an
    estimate's ``note``, a diagnostic's warnings, the verdict's caveats)."""
    return float(value) if math.isfinite(value) else NOT_COMPUTABLE


def as_sent(value: float) -> float:
    """``value`` as score cells carry it: 0.0 when it is not a finite number (the scores
    API has no "not computable" marker yet; linkage reports use :func:`reported`)."""
    return float(value) if math.isfinite(value) else 0.0
