"""The end of the demo: wait until the correlation service has counted every submitted
response, then run the one default report (``pulse_common.measures.REPORT_DEFAULTS``) over
the generated months and pick its headline pair."""

from __future__ import annotations

import asyncio

from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse_common.measures import REPORT_DEFAULTS

from pulse_cli.context import Stubs
from pulse_cli.demo.run import DemoRun

POLL_S = 0.5
RESAMPLES = 1000
REPORT_AT_LEAST_S = 120.0


async def responses_counted(stubs: Stubs) -> int:
    """What the correlation service has counted so far (its ingestion statistics)."""
    stats = await stubs.correlation.GetIngestionStats(
        corr_pb.GetIngestionStatsRequest(), timeout=stubs.deadline_s
    )
    return int(stats.responses_counted)


async def wait_counted(run: DemoRun, baseline: int, timeout_s: float) -> int:
    """Responses counted since ``baseline``, once all submitted ones are (or at the timeout,
    with a note on where to look)."""
    expected = run.tally.submitted
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        counted = await responses_counted(run.stubs) - baseline
        run.progress.stage("counted", counted, expected)
        if counted >= expected:
            return counted
        if loop.time() > deadline:
            run.progress.note(
                f"timed out after {timeout_s:.0f} s: the correlation service counted "
                f"{counted} of {expected} responses (see its log, and the "
                "pulse.deadletter.* subjects for poison messages)"
            )
            return counted
        await asyncio.sleep(POLL_S)


async def run_report(run: DemoRun) -> corr_pb.LinkageReport:
    """The default report over the whole organisation and every generated month."""
    org = run.org
    reply = await run.stubs.correlation.RunLinkageReport(
        corr_pb.RunLinkageReportRequest(
            scope_unit_id=org.root_id,
            period_from=org.periods[0].label,
            period_to=org.periods[-1].label,
            predictors=list(REPORT_DEFAULTS.predictors),
            outcome=org.config.outcome,
            max_lag=REPORT_DEFAULTS.max_lag,
            covariates=["unit_size"],
            options=corr_pb.LinkageOptions(
                bootstrap_resamples=RESAMPLES,
                permutation_resamples=RESAMPLES,
                confidence_level=0.95,
                method="pearson",
                random_seed=org.seed,
            ),
        ),
        timeout=max(REPORT_AT_LEAST_S, run.deadline),
    )
    return reply.report


def headline(report: corr_pb.LinkageReport, predictor: str) -> corr_pb.PredictorLinkage | None:
    """The linkage of ``predictor``, or None when the report has none (no data in scope)."""
    for linkage in report.linkages:
        if linkage.predictor == predictor:
            return linkage
    return None
