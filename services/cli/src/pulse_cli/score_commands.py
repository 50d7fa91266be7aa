"""``pulse scores`` and ``pulse trends``: construct scores per unit and period, each with n
and an interval; groups under k are suppressed."""

from __future__ import annotations

import click
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse_web.words import measure_label, suppression_words

from pulse_cli.context import resolve_settings
from pulse_cli.options import json_option, period_range_options, scope_option
from pulse_cli.output import emit, table
from pulse_cli.rpc import unary

SCORE = "value [95% CI]"


def _value(cell: corr_pb.ScoreCell, k: int) -> str:
    """The value and its interval, or why it is not shown, in words."""
    if cell.suppressed:
        return suppression_words(cell.suppression_reason, k)
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
    k = reply.min_group_size
    rows = (
        (c.unit_id, c.period, measure_label(c.construct), "" if c.suppressed else c.n, _value(c, k))
        for c in reply.cells
    )
    title = f"scores (k = {k})"
    emit(as_json, reply, table(title, ["unit", "period", "measure", "n", SCORE], rows))


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
    k = resolve_settings().min_group_size  # trends do not carry the k they applied
    rows = ((p.period, "" if p.suppressed else p.n, _value(p, k)) for p in reply.points)
    title = f"{measure_label(construct)} in {unit_id}"
    emit(as_json, reply, table(title, ["period", "n", SCORE], rows))
