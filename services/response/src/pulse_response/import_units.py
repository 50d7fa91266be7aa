"""Which units an imported row may name, pure: the row's unit must be a unit of the
organisation during the row's period, read on the period's first and on its last day (a
team created or merged away mid-period still counts). Shared by the response service, which
enforces it for every ``ImportResponses`` call, and the ``pulse`` command line."""

from __future__ import annotations

import difflib
from collections.abc import Collection
from datetime import date

from pulse_common.periods import parse_period


def period_days(period: str) -> tuple[date, date]:
    """The first and the last day of ``period``: the days its organisation is read on."""
    parsed = parse_period(period)
    return parsed.start, parsed.end


def unit_problem(unit_id: str, period: str, units: Collection[str]) -> str | None:
    """Why ``unit_id`` cannot hold a row of ``period`` (None when it can); ``units`` are
    the unit ids of the organisation during the period. Names a close match when there is
    one."""
    if unit_id in units:
        return None
    near = difflib.get_close_matches(unit_id, sorted(units), n=1)
    hint = f"; did you mean {near[0]}?" if near else ""
    return f"{unit_id!r} is not a unit of the organisation in {period}{hint}"
