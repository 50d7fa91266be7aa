"""Reporting periods, the one home for them: a month ``"2026-03"`` or an ISO week
``"2026-W11"``. Parsing, validation (with one wording of every message), ordering, ranges
and the dates a period covers. Pure: no I/O.

Which granularity a deployment reports in is ``PULSE_PERIOD`` (``month`` by default); a
period of the other granularity is refused wherever a period comes in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from pulse_common.errors import InvalidArgument

Granularity = Literal["month", "week"]
GRANULARITIES: tuple[Granularity, ...] = ("month", "week")

# Years outside this range are typing errors, not history (and year 0 is no date at all).
MIN_YEAR, MAX_YEAR = 1970, 2999

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_WEEK = re.compile(r"^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$")

MONTH_EXAMPLE = "a month like 2026-03"
WEEK_EXAMPLE = "an ISO week like 2026-W11"


def example_of(granularity: Granularity | None) -> str:
    """How to write a period, for messages and ``--help`` texts."""
    if granularity == "month":
        return MONTH_EXAMPLE
    if granularity == "week":
        return WEEK_EXAMPLE
    return f"{MONTH_EXAMPLE} or {WEEK_EXAMPLE}"


@dataclass(frozen=True, order=True)
class Period:
    """A parsed period; ``index`` orders periods of one granularity consecutively."""

    granularity: Granularity
    index: int

    @property
    def label(self) -> str:
        if self.granularity == "month":
            year, month0 = divmod(self.index, 12)
            return f"{year:04d}-{month0 + 1:02d}"
        iso = date.fromordinal(self.index * 7 + 1).isocalendar()
        return f"{iso.year:04d}-W{iso.week:02d}"

    @property
    def start(self) -> date:
        if self.granularity == "month":
            year, month0 = divmod(self.index, 12)
            return date(year, month0 + 1, 1)
        return date.fromordinal(self.index * 7 + 1)

    @property
    def end(self) -> date:
        """Last day of the period (inclusive)."""
        return self.shift(1).start - timedelta(days=1)

    def shift(self, steps: int) -> Period:
        return Period(self.granularity, self.index + steps)

    def __str__(self) -> str:
        return self.label


def period_problem(text: str, granularity: Granularity | None = None) -> str | None:
    """Why ``text`` is not a period (of ``granularity`` when given), or None when it is."""
    expected = example_of(granularity)
    month = _MONTH.match(text)
    week = None if month else _WEEK.match(text)
    if (month is None and week is None) or (
        granularity is not None and (granularity == "month") != (month is not None)
    ):
        return f"must be {expected}, got {text!r}"
    year = int((month or week).group(1))  # type: ignore[union-attr]
    if not MIN_YEAR <= year <= MAX_YEAR:
        return f"year must be between {MIN_YEAR} and {MAX_YEAR}, got {text!r}"
    if (
        week is not None
        and int(week.group(2)) == 53
        and date(year, 12, 28).isocalendar().week != 53
    ):
        return f"{year} has no ISO week 53"
    return None


def parse_period(text: str, granularity: Granularity | None = None) -> Period:
    """The ``Period`` of a label; ``ValueError`` with the same wording as ``period_problem``."""
    problem = period_problem(text, granularity)
    if problem is not None:
        raise ValueError(problem)
    month = _MONTH.match(text)
    if month:
        return Period("month", int(month.group(1)) * 12 + int(month.group(2)) - 1)
    week = _WEEK.match(text)
    assert week is not None
    monday = date.fromisocalendar(int(week.group(1)), int(week.group(2)), 1)
    return Period("week", (monday.toordinal() - 1) // 7)


def require_period(field: str, text: str, granularity: Granularity | None = None) -> Period:
    """``parse_period`` for request fields: INVALID_ARGUMENT naming ``field``."""
    problem = period_problem(text, granularity)
    if problem is not None:
        raise InvalidArgument(field, problem)
    return parse_period(text)


def require_range(
    field_from: str, text_from: str, field_to: str, text_to: str, granularity: Granularity | None
) -> tuple[Period, Period]:
    """A from/to pair of one granularity with from <= to."""
    first = require_period(field_from, text_from, granularity)
    last = require_period(field_to, text_to, granularity)
    if first.granularity != last.granularity:
        raise InvalidArgument(field_to, f"must be of the same kind as {field_from}")
    if last < first:
        raise InvalidArgument(field_to, f"must not be before {field_from} ({text_from})")
    return first, last


def is_period(text: str, granularity: Granularity | None = None) -> bool:
    return period_problem(text, granularity) is None


def period_of(day: date, granularity: Granularity) -> Period:
    """The period holding ``day``."""
    if granularity == "month":
        return Period("month", day.year * 12 + day.month - 1)
    monday = day - timedelta(days=day.weekday())
    return Period("week", (monday.toordinal() - 1) // 7)


def label_of(day: date, granularity: Granularity) -> str:
    """``period_of(day, granularity).label``: "2026-03" or "2026-W11"."""
    return period_of(day, granularity).label


def period_index(text: str) -> int:
    """Consecutive integers for consecutive periods of one granularity."""
    return parse_period(text).index


def period_start(text: str) -> date:
    return parse_period(text).start


def period_end(text: str) -> date:
    """Last day of the period (the date the org is read as of for a range ending there)."""
    return parse_period(text).end


def granularity_of(text: str) -> Granularity:
    return parse_period(text).granularity


def same_granularity(a: str, b: str) -> bool:
    return granularity_of(a) == granularity_of(b)


def periods_between(first: str, last: str) -> list[str]:
    """Every period label from ``first`` to ``last`` inclusive (empty when last < first)."""
    start, stop = parse_period(first), parse_period(last)
    if start.granularity != stop.granularity:
        raise ValueError(f"{first} and {last} are not of the same granularity")
    return [start.shift(step).label for step in range(stop.index - start.index + 1)]


def periods_back(today: date, granularity: Granularity, count: int) -> tuple[str, str]:
    """(first, last) labels of the ``count`` periods ending with the one holding ``today``."""
    last = period_of(today, granularity)
    return last.shift(-(count - 1)).label, last.label
