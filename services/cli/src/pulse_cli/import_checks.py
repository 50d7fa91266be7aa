"""What ``pulse import responses`` checks before it sends a row (pure): the row's unit must
exist in the organisation during the row's period (on its first or its last day), or the row
is rejected with its line and the reason; and the one line that sums an import up."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping

from pulse_common.periods import parse_period


def period_days(period: str) -> tuple[str, str]:
    """The first and last day of a period (ISO dates), the days its org is read on."""
    parsed = parse_period(period)
    return parsed.start.isoformat(), parsed.end.isoformat()


def unit_problem(unit_id: str, period: str, units: Collection[str]) -> str | None:
    """Why ``unit_id`` cannot hold a row of ``period`` (None when it can)."""
    if unit_id in units:
        return None
    near = difflib.get_close_matches(unit_id, list(units), n=1)
    hint = f"; did you mean {near[0]}?" if near else ""
    return f"{unit_id!r} is not a unit of the organisation in {period}{hint}"


def unknown_units(
    rows: Iterable[tuple[int, str, str]], units_in: Mapping[str, Collection[str]]
) -> list[tuple[int, str, str]]:
    """(line, "unit_id", reason) for each (line, unit, period) whose unit did not exist in
    its period; ``units_in`` maps a period to the unit ids of the org during it."""
    rejected = []
    for line, unit_id, period in rows:
        problem = unit_problem(unit_id, period, units_in.get(period, ()))
        if problem is not None:
            rejected.append((line, "unit_id", problem))
    return rejected


def summary(accepted: int, already: int, rejected: int, dry_run: bool) -> str:
    """ "N new, M already imported, K rejected" (a dry run: what would be imported)."""
    if dry_run:
        return f"{accepted} rows would be imported (dry run), {rejected} rejected"
    return f"{accepted - already} new, {already} already imported, {rejected} rejected"
