"""One dashboard page from one ``GetDashboard`` reply (pure): each measure's current score
with its change since the previous period and interval, the children one level down in a
small table, the teams that moved more than their noise (every team of the subtree, as the
service finds them: ``GetDashboardResponse.movers``), and trend series.

When a change is "larger than its noise": the standard error of each period's score is
read back from its 95 % interval as (high - low) / (2 x 1.96), and a change counts when
|difference| > 1.96 x sqrt(se1^2 + se2^2), the z-test of the difference between two
independent estimates (Altman & Bland, "Interaction revisited: the difference between two
estimates", BMJ 2003;326:219). The intervals of bounded scores are logit intervals (not
symmetric), so this se is an approximation on the score's own scale; it is only used to
decide which movements to list."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse_common.measures import CUSTOMER_OUTCOMES, EMPLOYEE_CONSTRUCTS, TREATMENT_CONSTRUCTS

from pulse_web.words import (
    TOP2,
    format_change,
    format_score,
    measure_description,
    measure_label,
    short_suppression,
    suppression_words,
)

Z95 = 1.959963984540054
ORDER = (*EMPLOYEE_CONSTRUCTS, *CUSTOMER_OUTCOMES)
MOVERS = 3  # per direction
TREND_PERIODS = 12
# The correlation service's reason for the cells of a period not released yet.
PERIOD_OPEN = "period_open"
# Measures that share the 0-100 axis of the trend chart (NPS-type scores run -100..100).
ZERO_TO_100 = frozenset((*TREATMENT_CONSTRUCTS, "engagement", "csat", "ces", "staff_treatment"))


@dataclass(frozen=True)
class Figure:
    """One measure of one unit in one period, as a table cell shows it."""

    code: str
    text: str  # the value, or a few words why it is not shown
    detail: str  # interval and n, or the full reason
    shown: bool
    value: float = math.nan
    low: float = math.nan
    high: float = math.nan


@dataclass(frozen=True)
class Change:
    text: str  # "+4", "−2", "no earlier period"
    significant: bool
    direction: str  # "up", "down", "flat", ""
    amount: float = 0.0


@dataclass(frozen=True)
class MeasureSummary:
    code: str
    label: str
    description: str
    current: Figure
    change: Change


@dataclass(frozen=True)
class Mover:
    unit_id: str
    unit_name: str
    label: str
    change: Change
    has_children: bool


@dataclass
class ChildRow:
    unit_id: str
    name: str
    has_children: bool
    figures: list[Figure] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


def order_measures(codes: Iterable[str]) -> list[str]:
    """Treatment measures first, then engagement and eNPS, then customer outcomes; the
    top-two-box shares are left to the heatmap and exports."""
    present = {c for c in codes if not c.endswith(TOP2)}
    known = [c for c in ORDER if c in present]
    return known + sorted(present - set(known))


def interval_known(cell: corr_pb.ScoreCell) -> bool:
    """Whether a released cell's interval is defined: the service sends an undefined one
    (fewer than two answers) as 0 to 0; a zero-width interval from identical answers is
    defined."""
    if cell.n < 2:
        return False
    return not (cell.ci_low == 0.0 and cell.ci_high == 0.0 and cell.value != 0.0)


def figure(cell: corr_pb.ScoreCell | None, k: int, names: dict[str, str]) -> Figure:
    if cell is None:
        return Figure("", "no data", "no responses in this period", False)
    code = cell.construct
    if cell.suppressed:
        return Figure(
            code,
            short_suppression(cell.suppression_reason),
            suppression_words(cell.suppression_reason, k, names),
            False,
        )
    text = format_score(code, cell.value)
    if interval_known(cell):
        interval = f"{format_score(code, cell.ci_low)} to {format_score(code, cell.ci_high)}"
        low, high = cell.ci_low, cell.ci_high
    else:
        interval, low, high = "not computable (fewer than 2 answers)", math.nan, math.nan
    detail = f"interval {interval}, {cell.n} responses"
    if cell.late_n:
        # The released number never changes (issue 13): late answers are said, not added.
        detail += (
            f"; {cell.late_n} answers arrived after this period was published and are not included"
        )
    return Figure(code, text, detail, True, cell.value, low, high)


def standard_error(f: Figure) -> float:
    """se from a 95 % interval (Altman & Bland 2003): (high - low) / (2 x 1.96)."""
    return (f.high - f.low) / (2 * Z95) if math.isfinite(f.high - f.low) else math.nan


def change_between(now: Figure, before: Figure) -> Change:
    if not now.shown:
        return Change("", False, "")
    if not before.shown:
        return Change("no earlier figure", False, "")
    diff = now.value - before.value
    noise = Z95 * math.hypot(standard_error(now), standard_error(before))
    significant = math.isfinite(noise) and abs(diff) > noise
    direction = "up" if diff > 0 else "down" if diff < 0 else "flat"
    return Change(format_change(now.code, diff), significant, direction, diff)


@dataclass
class Page:
    unit: corr_pb.DashboardUnit
    path: list[corr_pb.DashboardUnit]
    periods: list[str]
    latest: str
    previous: str
    measures: list[str]
    summaries: list[MeasureSummary]
    rows: list[ChildRow]
    movers_up: list[Mover]
    movers_down: list[Mover]
    k: int
    movers_since: str = ""  # the period the movers' changes are measured from


def team_movers(reply: corr_pb.GetDashboardResponse) -> list[Mover]:
    """The service's movers (every team of the subtree, beyond their noise), largest
    change first."""
    found = [
        Mover(
            m.unit.unit_id,
            m.unit.name,
            measure_label(m.construct),
            Change(
                format_change(m.construct, m.change),
                True,
                "up" if m.change > 0 else "down",
                m.change,
            ),
            m.unit.has_children,
        )
        for m in reply.movers
        if m.change != 0
    ]
    found.sort(key=lambda m: -abs(m.change.amount))
    return found


def build_page(reply: corr_pb.GetDashboardResponse, k: int) -> Page:
    cells = {(c.unit_id, c.period, c.construct): c for c in reply.cells}
    names = {u.unit_id: u.name for u in (reply.unit, *reply.children, *reply.path)}
    # The page lands on the latest released period: a period still open (every cell
    # "period_open", e.g. the current month) is left out unless nothing is released yet.
    every = {c.period for c in reply.cells}
    released = {c.period for c in reply.cells if c.suppression_reason != PERIOD_OPEN}
    periods = sorted(released or every)[-TREND_PERIODS:]
    latest = periods[-1] if periods else ""
    previous = periods[-2] if len(periods) > 1 else ""
    measures = order_measures(c.construct for c in reply.cells)

    def at(unit: str, period: str, code: str) -> Figure:
        found = figure(cells.get((unit, period, code)), k, names)
        return found if found.code else Figure(code, found.text, found.detail, False)

    unit_id = reply.unit.unit_id
    summaries = [
        MeasureSummary(
            code,
            measure_label(code),
            measure_description(code),
            at(unit_id, latest, code),
            change_between(at(unit_id, latest, code), at(unit_id, previous, code)),
        )
        for code in measures
    ]
    rows: list[ChildRow] = []
    for child in reply.children:
        row = ChildRow(child.unit_id, child.name, child.has_children)
        for code in measures:
            now = at(child.unit_id, latest, code)
            row.figures.append(now)
            row.changes.append(change_between(now, at(child.unit_id, previous, code)))
        rows.append(row)
    movers = team_movers(reply)
    return Page(
        unit=reply.unit,
        path=list(reply.path),
        periods=periods,
        latest=latest,
        previous=previous,
        measures=measures,
        summaries=summaries,
        rows=rows,
        movers_up=[m for m in movers if m.change.direction == "up"][:MOVERS],
        movers_down=[m for m in movers if m.change.direction == "down"][:MOVERS],
        k=k,
        movers_since=reply.movers[0].previous_period if reply.movers else previous,
    )


def _value(cell: corr_pb.ScoreCell | None) -> float | None:
    if cell is None or cell.suppressed or not math.isfinite(cell.value):
        return None
    return round(cell.value, 1)


def trend_lines(
    reply: corr_pb.GetDashboardResponse, periods: Sequence[str], codes: Sequence[str]
) -> dict[str, object]:
    """The unit's 0-100 measures over the periods (gaps where nothing is shown)."""
    cells = {(c.period, c.construct): c for c in reply.cells if c.unit_id == reply.unit.unit_id}
    lines: list[dict[str, object]] = []
    for code in codes:
        if code not in ZERO_TO_100:
            continue
        values = [_value(cells.get((p, code))) for p in periods]
        if any(v is not None for v in values):
            lines.append({"label": measure_label(code), "values": values})
    return {"labels": list(periods), "lines": lines, "yLabel": "score, 0 to 100"}


def link_points(
    reply: corr_pb.GetDashboardResponse, period: str, outcome: str = "csat"
) -> dict[str, object]:
    """Per child in ``period``: the mean of its treatment scores against its ``outcome``
    (the small chart beside the linkage sentence; only released numbers)."""
    cells = {(c.unit_id, c.construct): c for c in reply.cells if c.period == period}
    points = []
    for child in reply.children:
        treated = [_value(cells.get((child.unit_id, code))) for code in TREATMENT_CONSTRUCTS]
        known = [v for v in treated if v is not None]
        customer = _value(cells.get((child.unit_id, outcome)))
        if known and customer is not None:
            points.append(
                {"x": round(sum(known) / len(known), 1), "y": customer, "label": child.name}
            )
    return {
        "points": points,
        "xLabel": "How people are treated (mean of the treatment scores, 0 to 100)",
        "yLabel": f"{measure_label(outcome)} (0 to 100)",
    }
