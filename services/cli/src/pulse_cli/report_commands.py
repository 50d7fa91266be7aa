"""``pulse report``: linkage reports (does the treatment of staff go with, and precede,
happier customers?): run one, list, show and export the stored ones."""

from __future__ import annotations

from pathlib import Path

import click
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse_common.measures import OUTCOMES, REPORT_DEFAULTS

from pulse_cli.options import json_option, period_range_options, scope_option
from pulse_cli.output import emit, print_table, table
from pulse_cli.rpc import unary

# Bootstrap and permutations over every unit: far more work than one lookup.
RUN_REPORT_AT_LEAST_S = 300.0
EXPORT_FORMATS = {"json": corr_pb.EXPORT_FORMAT_JSON, "csv": corr_pb.EXPORT_FORMAT_CSV}


@click.group()
def report() -> None:
    """Linkage reports: does treatment of staff go with (and precede) happier customers?"""


def print_report(rep: corr_pb.LinkageReport) -> None:
    """The verdict first, then each predictor's estimate and lags, drivers, diagnostics."""
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
@scope_option
@period_range_options
@click.option(
    "--predictor",
    "predictors",
    multiple=True,
    help="Employee construct(s) (default: the treatment constructs with data).",
)
@click.option(
    "--outcome", type=click.Choice(OUTCOMES), default=REPORT_DEFAULTS.outcome, show_default=True
)
@click.option("--max-lag", type=int, default=REPORT_DEFAULTS.max_lag, show_default=True)
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
    """Compute, store and print a linkage report. The defaults are the one default report
    the web front and the demo also run."""
    request = corr_pb.RunLinkageReportRequest(
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
    reply = unary(
        lambda s: s.correlation.RunLinkageReport, request, at_least_s=RUN_REPORT_AT_LEAST_S
    )
    emit(as_json, reply, lambda: print_report(reply.report))


@report.command("list")
@click.option("--limit", type=int, default=20)
@json_option
def list_reports(limit: int, as_json: bool) -> None:
    """Stored reports, newest first."""
    request = corr_pb.ListReportsRequest(limit=limit)
    reply = unary(lambda s: s.correlation.ListReports, request)
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
    columns = ["report", "created", "scope", "outcome", "verdict", "units"]
    emit(as_json, reply, table("reports", columns, rows))


@report.command("show")
@click.argument("report_id")
@json_option
def show_report(report_id: str, as_json: bool) -> None:
    """Print a stored report."""
    request = corr_pb.GetReportRequest(report_id=report_id)
    reply = unary(lambda s: s.correlation.GetReport, request)
    emit(as_json, reply, lambda: print_report(reply.report))


@report.command("export")
@click.argument("report_id")
@click.option("--format", "fmt", type=click.Choice(list(EXPORT_FORMATS)), default="json")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def export_report(report_id: str, fmt: str, output: Path | None) -> None:
    """Export a report as JSON or CSV (to a file or stdout)."""
    request = corr_pb.ExportReportRequest(report_id=report_id, format=EXPORT_FORMATS[fmt])
    reply = unary(lambda s: s.correlation.ExportReport, request)
    if output is None:
        click.echo(reply.content.decode("utf-8"), nl=False)
    else:
        output.write_bytes(reply.content)
        click.echo(f"wrote {output} ({len(reply.content)} bytes)", err=True)
