"""Actions, pure: the record, and the before/after windows around an action's start period."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pulse_common.periods import Granularity, period_of

from pulse_correlation.action_effect import Window

DEFAULT_WINDOW = 3
MAX_WINDOW = 12


@dataclass(frozen=True)
class ActionRecord:
    action_id: str
    unit_id: str
    measure: str
    title: str
    owner: str
    start_date: dt.date
    outcome: str  # customer outcome watched one and two periods later
    created_at: dt.datetime


def start_period(start: dt.date, granularity: Granularity) -> str:
    return period_of(start, granularity).label


def windows(start: dt.date, granularity: Granularity, size: int) -> dict[str, Window]:
    """ "" : ``size`` periods before the start period vs the start period and ``size - 1``
    after; "+1" / "+2": the same before window vs the single period one / two after start."""
    first = period_of(start, granularity)
    before = tuple(first.shift(-i).label for i in range(size, 0, -1))
    return {
        "": Window(before, tuple(first.shift(i).label for i in range(size))),
        "+1": Window(before, (first.shift(1).label,)),
        "+2": Window(before, (first.shift(2).label,)),
    }
