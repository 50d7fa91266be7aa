"""``pulse scores``, ``pulse trends``, ``pulse report``: what leadership reads."""

from __future__ import annotations

from pathlib import Path

import click
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb

from pulse_cli.context import Stubs, emit
from pulse_cli.runner import json_option, operator_viewer, run_with_stubs
from pulse_cli.tables import print_table

OUTCOMES = ("csat", "nps", "ces", "staff_treatment")


def _cell_value(cell: corr_pb.ScoreCell) -> str:
    if cell.suppressed:
        return f"suppressed ({cell.suppression_reason})"
    return f"{cell.value:.1f} [{cell.ci_low:.1f}, {cell.ci_high:.1f}]"


@click.command("scores")
@click.option("--scope", default="", help="Subtree root (whole organisation).")
@click.option("--from", "period_from", default="")
@click.option("--to", "period_to", default="")
@click.option("--construct", "constructs", multiple=True)
@json_option
def scores(
    scope: str, period_from: str, period_to: str, constructs: tuple[str, ...], as_json: bool
) -> None:
    """Scores per unit and period, each with n and interval; groups under k suppressed."""

    async def action(stubs: Stubs) -> corr_pb.GetScoresResponse:
        request = corr_pb.GetScoresRequest(
            viewer=operator_viewer(scope),
            scope_unit_id=scope,
            period_from=period_from,
            period_to=period_to,
            constructs=list(constructs),
        )
        return await stubs.correlation.GetScores(request, timeout=stubs.deadline_s)

    reply = run_with_stubs(action)
    if as_json:
        emit(True, reply)
        return
    print_table(
        f"scores (k = {reply.min_group_size})",
        ["unit", "period", "construct", "n", "value [95% CI]"],
        (
            (c.unit_id, c.period, c.construct, "" if c.suppressed else c.n, _cell_value(c))
            for c in reply.cells
        ),
    )


@click.command("trends")
@click.argument("unit_id")
@click.argument("construct")
@click.option("--from", "period_from", default="")
@click.option("--to", "period_to", default="")
@json_option
def trends(unit_id: str, construct: str, period_from: str, period_to: str, as_json: bool) -> None:
    """One unit's construct over time."""

    async def action(stubs: Stubs) -> corr_pb.GetTrendsResponse:
        request = corr_pb.GetTrendsRequest(
            viewer=operator_viewer(),
            unit_id=unit_id,
            construct=construct,
            period_from=period_from,
            period_to=period_to,
        )
        return await stubs.correlation.GetTrends(request, timeout=stubs.deadline_s)

    reply = run_with_stubs(action)
    if as_json:
        emit(True, reply)
        return
    print_table(
        f"{construct} in {unit_id}",
        ["period", "n", "value [95% CI]"],
        ((p.period, "" if p.suppressed else p.n, _cell_value(p)) for p in reply.points),
    )


@click.group()
def report() -> None:
    """Linkage reports: does treatment of staff go with (and precede) happier customers?"""


def print_report(rep: corr_pb.LinkageReport) -> None:
    click.echo(f"report {rep.report_id} ({rep.created_at})")
    click.echo(
        f"scope {rep.scope_unit_id or 'whole organisation'}, periods {rep.period_from}.."
        f"{rep.period_to}, outcome {rep.outcome}; {rep.units_reported} units reported,"
        f" {rep.units_suppressed} suppressed (k = {rep.min_group_size})"
    )
    click.echo("")
    click.echo(f"VERDICT [{rep.verdict.level}]: {rep.verdict.text}")
    for caveat in rep.verdict.caveats:
        click.echo(f"  - {caveat}")
    for link in rep.linkages:
        e = link.pearson
        click.echo(
            f"\n{link.predictor}: r = {e.r:.3f} [{e.ci_low:.3f}, {e.ci_high:.3f}], n = {e.n},"
            f" p = {e.p_value:.3g}; disattenuated {link.disattenuated_r:.3f};"
            f" units needed {link.units_needed}"
        )
        lags = ", ".join(f"{lag.lag:+d}: {lag.estimate.r:.2f}" for lag in link.lags)
        if lags:
            click.echo(f"  lags (+ = treatment leads): {lags}")
    if rep.drivers:
        print_table(
            "drivers",
            ["driver", "level", "r", "q"],
            ((d.name, d.level, f"{d.estimate.r:.3f}", f"{d.q_value:.3g}") for d in rep.drivers),
        )
    if rep.diagnostics:
        print_table(
            "aggregation diagnostics",
            ["construct", "ICC(1)", "ICC(2)", "rwg(j)", "warnings"],
            (
                (
                    d.construct,
                    f"{d.icc1:.3f}",
                    f"{d.icc2:.3f}",
                    f"{d.rwg_j_mean:.2f}",
                    "; ".join(d.warnings),
                )
                for d in rep.diagnostics
            ),
        )


@report.command("run")
@click.option("--scope", default="", help="Subtree root (whole organisation).")
@click.option("--from", "period_from", default="")
@click.option("--to", "period_to", default="")
@click.option("--predictor", "predictors", multiple=True, help="Treatment construct(s).")
@click.option("--outcome", type=click.Choice(OUTCOMES), default="staff_treatment")
@click.option("--max-lag", type=int, default=2)
@click.option("--covariate", "covariates", multiple=True, help="unit_size, unit_type ...")
@click.option("--bootstrap", type=int, default=2000, help="Bootstrap resamples (0 = skip).")
@click.option("--permutation", type=int, default=2000, help="Permutations (0 = skip).")
@click.option("--seed", type=int, default=0)
@json_option
def run_report(
    scope: str,
    period_from: str,
    period_to: str,
    predictors: tuple[str, ...],
    outcome: str,
    max_lag: int,
    covariates: tuple[str, ...],
    bootstrap: int,
    permutation: int,
    seed: int,
    as_json: bool,
) -> None:
    """Compute, store and print a linkage report."""
    request = corr_pb.RunLinkageReportRequest(
        viewer=operator_viewer(scope),
        scope_unit_id=scope,
        period_from=period_from,
        period_to=period_to,
        predictors=list(predictors),
        outcome=outcome,
        max_lag=max_lag,
        covariates=list(covariates),
        options=corr_pb.LinkageOptions(
            bootstrap_resamples=bootstrap,
            permutation_resamples=permutation,
            confidence_level=0.95,
            random_seed=seed,
        ),
    )

    async def action(stubs: Stubs) -> corr_pb.RunLinkageReportResponse:
        return await stubs.correlation.RunLinkageReport(request, timeout=300)

    reply = run_with_stubs(action)
    if as_json:
        emit(True, reply)
        return
    print_report(reply.report)


@report.command("list")
@click.option("--limit", type=int, default=20)
@json_option
def list_reports(limit: int, as_json: bool) -> None:
    """Stored reports, newest first."""

    async def action(stubs: Stubs) -> corr_pb.ListReportsResponse:
        request = corr_pb.ListReportsRequest(viewer=operator_viewer(), limit=limit)
        return await stubs.correlation.ListReports(request, timeout=stubs.deadline_s)

    reply = run_with_stubs(action)
    if as_json:
        emit(True, reply)
        return
    print_table(
        "reports",
        ["report", "created", "scope", "outcome", "verdict", "units"],
        (
            (
                r.report_id,
                r.created_at[:19],
                r.scope_unit_id or "(all)",
                r.outcome,
                r.verdict_level,
                r.units_reported,
            )
            for r in reply.reports
        ),
    )


@report.command("show")
@click.argument("report_id")
@json_option
def show_report(report_id: str, as_json: bool) -> None:
    """Print a stored report."""

    async def action(stubs: Stubs) -> corr_pb.GetReportResponse:
        request = corr_pb.GetReportRequest(viewer=operator_viewer(), report_id=report_id)
        return await stubs.correlation.GetReport(request, timeout=stubs.deadline_s)

    reply = run_with_stubs(action)
    if as_json:
        emit(True, reply)
        return
    print_report(reply.report)


@report.command("export")
@click.argument("report_id")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def export_report(report_id: str, fmt: str, output: Path | None) -> None:
    """Export a report as JSON or CSV (to a file or stdout)."""
    formats = {"json": corr_pb.EXPORT_FORMAT_JSON, "csv": corr_pb.EXPORT_FORMAT_CSV}

    async def action(stubs: Stubs) -> corr_pb.ExportReportResponse:
        request = corr_pb.ExportReportRequest(
            viewer=operator_viewer(), report_id=report_id, format=formats[fmt]
        )
        return await stubs.correlation.ExportReport(request, timeout=stubs.deadline_s)

    reply = run_with_stubs(action)
    if output is None:
        click.echo(reply.content.decode("utf-8"), nl=False)
    else:
        output.write_bytes(reply.content)
        click.echo(f"wrote {output} ({len(reply.content)} bytes)", err=True)
