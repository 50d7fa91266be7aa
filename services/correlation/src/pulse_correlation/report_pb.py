"""Protobuf assembly of a linkage report: the report records, field for field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from pulse.correlation.v1 import correlation_service_pb2 as pb

from pulse_correlation.chain_pb import reliability_message
from pulse_correlation.reliability import ConstructReliability
from pulse_correlation.report_model import (
    Estimate,
    PredictorLinkage,
    ReportBody,
    ReportRequest,
)


@dataclass(frozen=True)
class ReportIdentity:
    """What a stored report says about its own run."""

    report_id: str
    created_at: str  # RFC 3339, seconds
    scope_unit_id: str  # the resolved scope ("" = whole organisation)
    min_group_size: int  # the largest k applied
    code_version: str


def _estimate(estimate: Estimate | None) -> pb.Estimate | None:
    return None if estimate is None else pb.Estimate(**asdict(estimate))


def _linkage(link: PredictorLinkage) -> pb.PredictorLinkage:
    message = pb.PredictorLinkage(
        predictor=link.predictor,
        pearson=_estimate(link.pearson),
        spearman=_estimate(link.spearman),
        bootstrap=_estimate(link.bootstrap),
        permutation=_estimate(link.permutation),
        disattenuated_r=link.disattenuated_r,
        repeated_measures=_estimate(link.repeated_measures),
        units_needed=link.units_needed,
        multilevel=_estimate(link.multilevel),
        multilevel_note=link.multilevel_note,
        direction=pb.Direction(**asdict(link.direction)),
        disattenuation=(
            pb.Disattenuation(**asdict(link.disattenuation)) if link.disattenuation else None
        ),
        reliable=link.reliable,
    )
    message.points.extend(pb.UnitPoint(**asdict(p)) for p in link.points)
    message.lags.extend(
        pb.LagEstimate(lag=lag.lag, estimate=_estimate(lag.estimate), units=lag.units)
        for lag in link.lags
    )
    message.tests.extend(pb.LinkTest(**asdict(t)) for t in link.tests)
    message.partials.extend(
        pb.PartialEstimate(covariates=p.covariates, estimate=_estimate(p.estimate))
        for p in link.partials
    )
    return message


def report_message(
    body: ReportBody,
    request: ReportRequest,
    identity: ReportIdentity,
    reliability: Mapping[str, ConstructReliability] | None = None,
) -> pb.LinkageReport:
    """``reliability``: Cronbach's alpha by construct, set on that construct's diagnostic."""
    table = body.table
    options = request.options
    report = pb.LinkageReport(
        report_id=identity.report_id,
        created_at=identity.created_at,
        scope_unit_id=identity.scope_unit_id,
        period_from=request.period_from,
        period_to=request.period_to,
        outcome=table.outcome,
        predictors=table.predictors,
        max_lag=request.max_lag,
        covariates=request.covariates,
        units_reported=len(table.units),
        units_suppressed=table.units_suppressed,
        verdict=pb.Verdict(**asdict(body.verdict)),
        min_group_size=identity.min_group_size,
        code_version=identity.code_version,
        options=pb.LinkageOptions(**asdict(options)),
        viewer_id=request.viewer.viewer_id,
        power=pb.PowerPlan(**asdict(body.power)) if body.power else None,
    )
    report.linkages.extend(_linkage(link) for link in body.linkages)
    for d in body.diagnostics:
        diagnostic = report.diagnostics.add(**asdict(d))
        found = (reliability or {}).get(d.construct)
        if found is not None:
            diagnostic.alpha.CopyFrom(reliability_message(found))
    report.drivers.extend(
        pb.Driver(name=d.name, level=d.level, estimate=_estimate(d.estimate), q_value=d.q_value)
        for d in body.drivers
    )
    report.customer_metrics.extend(pb.CustomerMetric(**asdict(m)) for m in body.customer_metrics)
    report.suppressions.extend(
        pb.Suppression(unit_id=unit, reason=reason) for unit, reason in table.suppressions
    )
    return report
