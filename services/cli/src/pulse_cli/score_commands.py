"""``pulse scores`` and ``pulse trends``: construct scores per unit and period, each with n
and an interval; groups under k are suppressed."""

from __future__ import annotations

import click
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb

from pulse_cli.options import json_option, period_range_options, scope_option
from pulse_cli.output import emit, table
from pulse_cli.rpc import unary

SCORE = "value [95% CI]"


def _value(cell: corr_pb.ScoreCell) -> str:
    if cell.suppressed:
        return f"suppressed ({cell.suppression_reason})"
    return f"{cell.value:.1f} [{cell.ci_low:.1f}, {cell.ci_high:.1f}]"


@click.command("scores")
@scope_option
@period_range_options
@click.option("--construct", "constructs", multiple=True, help="Repeat for several (all).")
@json_option
def scores(
    scope: str, period_from: str, period_to: str, constructs: tuple[str, ...], as_json: bool
) -> None:
    """Scores per unit and period, each with n and interval; groups under k suppressed."""
    request = corr_pb.GetScoresRequest(
        scope_unit_id=scope,
        period_from=period_from,
        period_to=period_to,
        constructs=list(constructs),
    )
    reply = unary(lambda s: s.correlation.GetScores, request)
    rows = (
        (c.unit_id, c.period, c.construct, "" if c.suppressed else c.n, _value(c))
        for c in reply.cells
    )
    title = f"scores (k = {reply.min_group_size})"
    emit(as_json, reply, table(title, ["unit", "period", "construct", "n", SCORE], rows))


@click.command("trends")
@click.argument("unit_id")
@click.argument("construct")
@period_range_options
@json_option
def trends(unit_id: str, construct: str, period_from: str, period_to: str, as_json: bool) -> None:
    """One unit's construct over time."""
    request = corr_pb.GetTrendsRequest(
        unit_id=unit_id,
        construct=construct,
        period_from=period_from,
        period_to=period_to,
    )
    reply = unary(lambda s: s.correlation.GetTrends, request)
    rows = ((p.period, "" if p.suppressed else p.n, _value(p)) for p in reply.points)
    emit(as_json, reply, table(f"{construct} in {unit_id}", ["period", "n", SCORE], rows))
