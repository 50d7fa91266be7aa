"""A unit table in, everything the report states out (DESIGN §6), pure. Nothing here
touches respondents, so a report costs O(units x periods). ``scripts/validate_verdicts.py``
drives exactly this function with simulated organisations."""

from __future__ import annotations

from pulse_correlation import estimates
from pulse_correlation.attempts import Attempts
from pulse_correlation.diagnostics import diagnostic
from pulse_correlation.evidence import weigh
from pulse_correlation.report_model import Options, ReportBody, UnitTable
from pulse_correlation.verdict import VerdictInput, mark_reliability, power_plan, verdict


def analyse(table: UnitTable, options: Options) -> ReportBody:
    attempts = Attempts()
    # Aggregation diagnostics first: reliabilities feed the disattenuated estimates and
    # gate which predictors the verdict may link.
    diagnostics = [
        found
        for construct in [*table.predictors, table.outcome]
        if (found := diagnostic(construct, table, attempts)) is not None
    ]
    by_construct = {d.construct: d for d in diagnostics}
    drivers = estimates.drivers(table, options, attempts)
    linkages = [
        estimates.predictor_linkage(predictor, table, options, by_construct, attempts)
        for predictor in table.predictors
    ]
    mark_reliability(linkages, diagnostics, table.outcome)
    evidence = weigh(linkages, options)
    power = power_plan(len(table.units), options)
    customer_metrics = estimates.customer_metrics(table, options.confidence_level)
    judged = verdict(
        VerdictInput(
            outcome=table.outcome,
            predictors=table.predictors,
            units=len(table.units),
            units_suppressed=table.units_suppressed,
            diagnostics=diagnostics,
            linkages=linkages,
            evidence=evidence,
            power=power,
            notes=[*table.notes, *attempts.notes],
            options=options,
            covariates=list(table.covariates),
        )
    )
    return ReportBody(table, diagnostics, drivers, linkages, customer_metrics, judged, power)
