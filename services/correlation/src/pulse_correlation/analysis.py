"""A unit table in, everything the report states out (DESIGN §6), pure. Nothing here
touches respondents, so a report costs O(units x periods)."""

from __future__ import annotations

from pulse_correlation import estimates
from pulse_correlation.attempts import Attempts
from pulse_correlation.diagnostics import diagnostic
from pulse_correlation.report_model import Options, ReportBody, UnitTable
from pulse_correlation.verdict import VerdictInput, verdict


def analyse(table: UnitTable, options: Options) -> ReportBody:
    attempts = Attempts()
    # Aggregation diagnostics first: ICC(2) feeds the disattenuated estimate.
    diagnostics = [
        found
        for construct in [*table.predictors, table.outcome]
        if (found := diagnostic(construct, table, attempts)) is not None
    ]
    icc2 = {d.construct: d.icc2 for d in diagnostics}
    drivers = estimates.drivers(table, options, attempts)
    linkages = [
        estimates.predictor_linkage(predictor, table, options, icc2, attempts)
        for predictor in table.predictors
    ]
    customer_metrics = estimates.customer_metrics(table, options.confidence_level)
    judged = verdict(
        VerdictInput(
            outcome=table.outcome,
            predictors=table.predictors,
            units=len(table.units),
            units_suppressed=table.units_suppressed,
            diagnostics=diagnostics,
            drivers=drivers,
            linkages=linkages,
            notes=[*table.notes, *attempts.notes],
            options=options,
        )
    )
    return ReportBody(table, diagnostics, drivers, linkages, customer_metrics, judged)
