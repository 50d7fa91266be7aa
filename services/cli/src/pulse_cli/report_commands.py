"""``pulse report``: linkage reports (does the treatment of staff go with, and precede,
happier customers?): run one, list, show and export the stored ones."""

from __future__ import annotations

from pathlib import Path

import click
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse_common.measures import OUTCOMES, REPORT_DEFAULTS
from pulse_web.leader_notes import leader_note
from pulse_web.report_tables import report_zip
from pulse_web.words import item_label, measure_label

from pulse_cli.chain_commands import chain_show, chains, print_alpha
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
        f"{rep.period_to}, outcome {measure_label(rep.outcome)}; {rep.units_reported} units"
        f" reported, {rep.units_suppressed} suppressed (k = {rep.min_group_size})"
    )
    click.echo("")
    click.echo(f"VERDICT [{rep.verdict.level}]: {rep.verdict.text}")
    for caveat in rep.verdict.caveats:
        click.echo(f"  - {leader_note(caveat)}")
    for link in rep.linkages:
        e = link.pearson
        click.echo(
            f"\n{measure_label(link.predictor)}: r = {e.r:.3f} [{e.ci_low:.3f}, {e.ci_high:.3f}],"
            f" n = {e.n}, p = {e.p_value:.3g}; disattenuated {link.disattenuated_r:.3f};"
            f" units needed {link.units_needed}"
        )
        lags = ", ".join(f"{lag.lag:+d}: {lag.estimate.r:.2f}" for lag in link.lags)
        if lags:
            click.echo(f"  lags (+ = treatment leads): {lags}")
    if rep.drivers:
        print_table(
            "drivers",
            ["driver", "level", "r", "q"],
            (
                (measure_label(d.name), d.level, f"{d.estimate.r:.3f}", f"{d.q_value:.3g}")
                for d in rep.drivers
            ),
        )
    if rep.diagnostics:
        print_table(
            "aggregation diagnostics",
            ["measure", "ICC(1)", "ICC(2)", "rwg(j)", "warnings"],
            (
                (
                    measure_label(d.construct),
                    f"{d.icc1:.3f}",
                    f"{d.icc2:.3f}",
                    f"{d.rwg_j_mean:.2f}",
                    "; ".join(leader_note(w) for w in d.warnings),
                )
                for d in rep.diagnostics
            ),
        )
        print_alpha([d.alpha for d in rep.diagnostics if d.HasField("alpha")])


@report.command("run")
@scope_option
@period_range_options
@click.option(
    "--predictor",
    "predictors",
    multiple=True,
    help="Employee construct(s), or an internal.* service measure counted under the rated"
    " unit (default: the treatment constructs with data).",
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
            measure_label(r.outcome),
            r.verdict_level.replace("_", " "),
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
@click.option(
    "--format",
    "fmt",
    type=click.Choice([*EXPORT_FORMATS, "zip"]),
    default="json",
    help="json: the whole report; csv: every section in one file; zip (linkage reports, needs"
    " -o): one tidy CSV per table with a README column dictionary, and the JSON.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: stdout).",
)
@json_option
def export_report(report_id: str, fmt: str, output: Path | None, as_json: bool) -> None:
    """Export a linkage or chain report as JSON, CSV or a zip of tidy CSV tables."""
    if fmt == "zip" and output is None:
        raise click.UsageError("--format zip writes a file: give -o FILE.zip")
    export_format = EXPORT_FORMATS["json" if fmt == "zip" else fmt]
    request = corr_pb.ExportReportRequest(report_id=report_id, format=export_format)
    reply = unary(lambda s: s.correlation.ExportReport, request)
    content = reply.content
    if fmt == "zip":
        linkage = unary(
            lambda s: s.correlation.GetReport, corr_pb.GetReportRequest(report_id=report_id)
        )
        listing = unary(lambda s: s.survey.ListItems, survey_pb.ListItemsRequest())
        items = {i.item_id: item_label(i.construct, i.text) for i in listing.items}
        content = report_zip(linkage.report, items, reply.content)
    if output is None:
        if as_json and fmt != "json":
            raise click.UsageError("--json with --format csv writes a file: give -o FILE")
        click.echo(content.decode("utf-8"), nl=False)  # the JSON export is JSON already
    else:
        output.write_bytes(content)
        if as_json:
            emit(True, {"path": str(output), "bytes": len(content), "format": fmt})
        else:
            click.echo(f"wrote {output} ({len(content)} bytes)", err=True)


report.add_command(chains)
report.add_command(chain_show)
