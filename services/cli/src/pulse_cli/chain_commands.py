"""``pulse report chain``: the internal-customer chain (serving units' service -> the served
front-line units' treatment -> their customers), each link and the indirect path; every run
is stored (``pulse report chains`` lists the stored ones the caller may read, ``pulse report
chain-show ID`` prints one, ``pulse report export ID`` exports it)."""

from __future__ import annotations

import click
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse_common.measures import CUSTOMER_OUTCOMES, INTERNAL_OUTCOMES, PREDICTORS

from pulse_cli.options import json_option, period_range_options, scope_option
from pulse_cli.output import emit, print_table, table
from pulse_cli.rpc import unary

RUN_CHAIN_AT_LEAST_S = 120.0


def _num(value: float) -> str:
    return f"{value:.2f}" if value == value else "not computable"  # NaN != NaN


def print_alpha(found: list[corr_pb.ConstructReliability]) -> None:
    """Cronbach's alpha with Feldt's interval and corrected item-total correlations."""
    if not found:
        return
    print_table(
        "internal consistency (Cronbach's alpha; under 0.7: read with care)",
        ["construct", "alpha", "interval", "items", "people", "item-total r", "warnings"],
        (
            (
                r.construct,
                _num(r.alpha),
                f"[{_num(r.ci_low)}, {_num(r.ci_high)}]",
                r.items,
                r.n,
                ", ".join(f"{t.item_id} {_num(t.r)}" for t in r.item_totals),
                "; ".join(r.warnings),
            )
            for r in found
        ),
    )


def print_chain(rep: corr_pb.ChainReport) -> None:
    click.echo(f"chain report {rep.report_id} ({rep.created_at})")
    click.echo(
        f"scope {rep.scope_unit_id or 'whole organisation'}, periods {rep.period_from or '…'}.."
        f"{rep.period_to or '…'}: {rep.service_measure} -> {rep.mediator} -> {rep.outcome};"
        f" {rep.units_reported} served units, {rep.serving_units} serving units,"
        f" {rep.unit_periods} unit-periods (k = {rep.min_group_size})"
    )
    click.echo(f"\nVERDICT [{rep.verdict.level}]: {rep.verdict.text}")
    for caveat in rep.verdict.caveats:
        click.echo(f"  - {caveat}")
    print_table(
        "links (unit means; r with its interval, beta = standardised path)",
        ["path", "r", "interval", "beta", "n", "lags (+ = first leads)"],
        (
            (
                link.path,
                f"{link.estimate.r:.3f}",
                f"[{link.estimate.ci_low:.3f}, {link.estimate.ci_high:.3f}]",
                f"{link.beta:.3f}",
                link.estimate.n,
                ", ".join(f"{lag.lag:+d}: {lag.estimate.r:.2f}" for lag in link.lags),
            )
            for link in rep.links
        ),
    )
    ind = rep.indirect
    click.echo(
        f"indirect path (a*b): {ind.r:.3f}, bootstrap interval [{ind.ci_low:.3f},"
        f" {ind.ci_high:.3f}] over {ind.n} units"
    )
    print_alpha(list(rep.reliability))


@click.command("chain")
@scope_option
@period_range_options
@click.option(
    "--service",
    "service_measure",
    type=click.Choice(INTERNAL_OUTCOMES),
    default="internal.csat",
    show_default=True,
    help="The serving units' internal service measure.",
)
@click.option(
    "--mediator",
    type=click.Choice(PREDICTORS),
    default="treatment.support",
    show_default=True,
    help="The served units' employee construct.",
)
@click.option("--outcome", type=click.Choice(CUSTOMER_OUTCOMES), default="csat", show_default=True)
@click.option("--max-lag", type=int, default=1, show_default=True)
@click.option("--bootstrap", type=int, default=2000, show_default=True)
@click.option("--seed", type=int, default=0)
@json_option
def chain(
    scope: str,
    period_from: str,
    period_to: str,
    service_measure: str,
    mediator: str,
    outcome: str,
    max_lag: int,
    bootstrap: int,
    seed: int,
    as_json: bool,
) -> None:
    """Serving units' service -> served units' treatment -> their customers: each link and
    the indirect path with intervals (record who serves whom with `pulse org serves add`)."""
    request = corr_pb.RunChainReportRequest(
        scope_unit_id=scope,
        period_from=period_from,
        period_to=period_to,
        service_measure=service_measure,
        mediator=mediator,
        outcome=outcome,
        max_lag=max_lag,
        options=corr_pb.LinkageOptions(
            bootstrap_resamples=bootstrap, confidence_level=0.95, random_seed=seed
        ),
    )
    reply = unary(lambda s: s.correlation.RunChainReport, request, at_least_s=RUN_CHAIN_AT_LEAST_S)
    emit(as_json, reply, lambda: print_chain(reply.report))


@click.command("chains")
@click.option("--limit", type=int, default=20)
@json_option
def chains(limit: int, as_json: bool) -> None:
    """Stored chain reports you may read (your scope holds theirs), newest first."""
    request = corr_pb.ListChainReportsRequest(limit=limit)
    reply = unary(lambda s: s.correlation.ListChainReports, request)
    rows = (
        (
            r.report_id,
            r.created_at[:19],
            r.scope_unit_id or "(all)",
            r.outcome,
            r.verdict_level,
            r.units_reported,
        )
        for r in reply.reports
    )
    columns = ["report", "created", "scope", "outcome", "verdict", "served units"]
    emit(as_json, reply, table("chain reports", columns, rows))


@click.command("chain-show")
@click.argument("report_id")
@json_option
def chain_show(report_id: str, as_json: bool) -> None:
    """Print a stored chain report (export it with `pulse report export ID`)."""
    request = corr_pb.GetChainReportRequest(report_id=report_id)
    reply = unary(lambda s: s.correlation.GetChainReport, request)
    emit(as_json, reply, lambda: print_chain(reply.report))
