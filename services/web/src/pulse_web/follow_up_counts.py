"""Detractor follow-ups on the dashboard (issue 16), pure: the customers' follow-ups
flagged and closed per team and period (``CountFollowUps`` with ``by_unit``) rolled up to
the page's unit and each unit one level down, for the page's latest period and its range.
Follow-ups concern customers, never employees, so the counts carry no employee data and
need no minimum group size."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from pulse.response.v1 import response_service_pb2 as resp_pb

from pulse_web.org import UnitInfo


@dataclass(frozen=True)
class FollowUpRow:
    unit_id: str
    name: str
    flagged_latest: int
    closed_latest: int
    flagged: int  # over the page's periods
    closed: int

    @property
    def open(self) -> int:
        return self.flagged - self.closed


def owner(unit_id: str, parents: Mapping[str, str], targets: Collection[str]) -> str | None:
    """The first of ``targets`` at or above ``unit_id`` (None: outside them all)."""
    seen: set[str] = set()
    current = unit_id
    while current and current not in seen:
        if current in targets:
            return current
        seen.add(current)
        current = parents.get(current, "")
    return None


def follow_up_rows(
    counts: Iterable[resp_pb.FollowUpCount],
    units: Iterable[UnitInfo],
    page_unit: tuple[str, str],
    children: Iterable[tuple[str, str]],
    periods: Collection[str] | None,
    latest: str,
) -> list[FollowUpRow]:
    """One row for the page's unit (its whole subtree), then one per child, over ``periods``
    (None: every period) and in ``latest``; the children's rows are left out when no
    follow-up was flagged below the page."""
    parents = {u.unit_id: u.parent_id for u in units}
    kids = list(children)
    child_ids = {unit for unit, _ in kids}
    totals: dict[str, list[int]] = {unit: [0, 0, 0, 0] for unit in (page_unit[0], *child_ids)}
    for count in counts:
        if periods is not None and count.period not in periods:
            continue
        page_owner = owner(count.unit_id, parents, {page_unit[0]}) if page_unit[0] else ""
        targets = [owner(count.unit_id, parents, child_ids), page_owner]
        for target in {t for t in targets if t is not None}:
            row = totals[target]
            row[2] += count.flagged
            row[3] += count.closed
            if count.period == latest:
                row[0] += count.flagged
                row[1] += count.closed
    page = FollowUpRow(page_unit[0], page_unit[1], *totals[page_unit[0]])
    if not page.flagged:
        return [page]
    return [page, *(FollowUpRow(unit, name, *totals[unit]) for unit, name in kids)]
