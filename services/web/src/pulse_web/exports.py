"""CSV downloads of the dashboard and comments (pure apart from the response): human
measure names first, with the code in a second column for analysts; a number that is not
shown says why in words, never 0."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from starlette.responses import Response

from pulse_web.summary import interval_known
from pulse_web.words import measure_label, suppression_words

NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?(e[+-]?\d+)?$")
SCORE_HEADER = (
    "Unit",
    "Unit id",
    "Period",
    "Measure",
    "Measure code",
    "Score",
    "Interval low",
    "Interval high",
    "Responses",
    "Shown",
)


def _number(value: float) -> str:
    return f"{value:.4g}" if abs(value) < 1 else f"{value:.2f}"


def score_row(cell: corr_pb.ScoreCell, k: int, names: dict[str, str]) -> list[str]:
    base = [
        cell.unit_name or cell.unit_id,
        cell.unit_id,
        cell.period,
        measure_label(cell.construct),
        cell.construct,
    ]
    if cell.suppressed:
        return [*base, "", "", "", "", suppression_words(cell.suppression_reason, k, names)]
    computable = interval_known(cell)
    low = _number(cell.ci_low) if computable else "not computable"
    high = _number(cell.ci_high) if computable else "not computable"
    return [*base, _number(cell.value), low, high, str(cell.n), "yes"]


def dashboard_rows(
    reply: corr_pb.GetDashboardResponse, k: int, construct: str, with_children: bool
) -> list[list[str]]:
    """Header and one row per (unit, period, measure) of the page, ordered for reading."""
    names = {u.unit_id: u.name for u in (reply.unit, *reply.children, *reply.path)}
    units = [reply.unit.unit_id] + ([c.unit_id for c in reply.children] if with_children else [])
    rank = {u: i for i, u in enumerate(units)}
    cells = [
        c
        for c in reply.cells
        if c.unit_id in rank
        and (not construct or c.construct in (construct, construct + ".top2box"))
    ]
    cells.sort(key=lambda c: (rank[c.unit_id], c.construct, c.period))
    return [list(SCORE_HEADER), *(score_row(c, k, names) for c in cells)]


def to_csv(rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        # A cell starting with = + - @ would be a formula in a spreadsheet.
        writer.writerow([_safe(v) for v in row])
    return buffer.getvalue()


def _safe(value: str) -> str:
    """Text starting with = + - @ would run as a formula in a spreadsheet; numbers stay."""
    if value[:1] in ("=", "+", "-", "@") and not NUMBER.match(value):
        return "'" + value
    return value


def csv_response(rows: Iterable[Sequence[str]], filename: str) -> Response:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", filename)
    return Response(
        to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{safe}"'},
    )
