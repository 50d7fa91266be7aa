"""``pulse report chain``: the internal-customer chain (serving units' service -> the served
front-line units' treatment -> their customers), each link and the indirect path."""

from __future__ import annotations

import click
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse_common.measures import CUSTOMER_OUTCOMES, INTERNAL_OUTCOMES, PREDICTORS

from pulse_cli.options import json_option, period_range_options, scope_option
from pulse_cli.output import emit, print_table
from pulse_cli.rpc import unary

RUN_CHAIN_AT_LEAST_S = 120.0


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
