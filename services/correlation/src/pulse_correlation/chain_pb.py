"""Protobuf assembly of a chain report."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pulse.correlation.v1 import correlation_service_pb2 as pb

from pulse_correlation.chain import ChainResult
from pulse_correlation.chain_model import ChainEstimate, ChainRequest
from pulse_correlation.reliability import ConstructReliability
from pulse_correlation.values import as_sent
from pulse_correlation.version import code_version


@dataclass(frozen=True)
class ChainIdentity:
    report_id: str
    created_at: str  # RFC 3339, seconds
    scope_unit_id: str  # the resolved scope ("" = whole organisation)
    serving_units: int
    min_group_size: int  # the largest k applied


def estimate(e: ChainEstimate) -> pb.Estimate:
    return pb.Estimate(**asdict(e))


def reliability_message(found: ConstructReliability) -> pb.ConstructReliability:
    return pb.ConstructReliability(
        construct=found.construct,
        alpha=as_sent(found.alpha),
        ci_low=as_sent(found.ci_low),
        ci_high=as_sent(found.ci_high),
        items=found.items,
        n=found.n,
        warnings=found.warnings,
        item_totals=[
            pb.ItemTotal(item_id=item, r=as_sent(r)) for item, r in sorted(found.item_total.items())
        ],
    )


def chain_message(
    request: ChainRequest,
    result: ChainResult,
    identity: ChainIdentity,
    reliability: list[ConstructReliability],
) -> pb.ChainReport:
    return pb.ChainReport(
        report_id=identity.report_id,
        created_at=identity.created_at,
        scope_unit_id=identity.scope_unit_id,
        period_from=request.period_from,
        period_to=request.period_to,
        service_measure=request.service_measure,
        mediator=request.mediator,
        outcome=request.outcome,
        units_reported=result.units,
        serving_units=identity.serving_units,
        unit_periods=result.unit_periods,
        links=[
            pb.ChainLink(
                path=link.path,
                estimate=estimate(link.estimate),
                beta=link.beta,
                lags=[
                    pb.LagEstimate(lag=lag.lag, estimate=estimate(lag.estimate))
                    for lag in link.lags
                ],
            )
            for link in result.links
        ],
        indirect=estimate(result.indirect),
        verdict=pb.Verdict(
            level=result.verdict.level,
            text=result.verdict.text,
            caveats=result.verdict.caveats,
        ),
        min_group_size=identity.min_group_size,
        code_version=code_version(),
        options=pb.LinkageOptions(
            bootstrap_resamples=request.options.bootstrap_resamples,
            confidence_level=request.options.confidence_level,
            method="pearson",
            random_seed=request.options.random_seed,
        ),
        reliability=[reliability_message(found) for found in reliability],
    )
