"""Request checks of RunChainReport, pure: every field validated (INVALID_ARGUMENT names it)
and turned into a ``ChainRequest``; empty fields take the defaults of ``chain_model``."""

from __future__ import annotations

from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse_common.errors import InvalidArgument
from pulse_common.measures import (
    CUSTOMER_OUTCOMES,
    INTERNAL_OUTCOMES,
    PREDICTORS,
    close_matches,
)
from pulse_common.periods import Granularity

from pulse_correlation import validation
from pulse_correlation.chain_model import (
    DEFAULT_MAX_LAG,
    DEFAULT_MEDIATOR,
    DEFAULT_OUTCOME,
    DEFAULT_SERVICE_MEASURE,
    MAX_LAG,
    ChainOptions,
    ChainRequest,
)


def _choice(field: str, value: str, default: str, choices: tuple[str, ...]) -> str:
    value = value.strip() or default
    if value not in choices:
        raise InvalidArgument(field, close_matches(value, choices))
    return value


def _options(request: pb.RunChainReportRequest) -> ChainOptions:
    if not request.HasField("options"):
        return ChainOptions(validation.DEFAULT_RESAMPLES, validation.DEFAULT_CONFIDENCE, 0)
    o = request.options
    resamples = o.bootstrap_resamples or validation.DEFAULT_RESAMPLES
    if not 100 <= resamples <= validation.MAX_RESAMPLES:
        raise InvalidArgument(
            "options.bootstrap_resamples", f"must be between 100 and {validation.MAX_RESAMPLES}"
        )
    level = o.confidence_level or validation.DEFAULT_CONFIDENCE
    if not 0.5 <= level < 1.0:
        raise InvalidArgument("options.confidence_level", "must be in [0.5, 1)")
    if o.method not in ("", "pearson"):
        raise InvalidArgument("options.method", "a chain report uses pearson only")
    return ChainOptions(resamples, level, o.random_seed)


def chain_request(request: pb.RunChainReportRequest, granularity: Granularity) -> ChainRequest:
    period_from, period_to = validation.periods(request.period_from, request.period_to, granularity)
    max_lag = request.max_lag if request.max_lag else DEFAULT_MAX_LAG
    if not 0 <= max_lag <= MAX_LAG:
        raise InvalidArgument("max_lag", f"must be between 0 and {MAX_LAG}")
    return ChainRequest(
        scope_unit_id=validation.optional_unit("scope_unit_id", request.scope_unit_id),
        period_from=period_from,
        period_to=period_to,
        service_measure=_choice(
            "service_measure", request.service_measure, DEFAULT_SERVICE_MEASURE, INTERNAL_OUTCOMES
        ),
        mediator=_choice("mediator", request.mediator, DEFAULT_MEDIATOR, PREDICTORS),
        outcome=_choice("outcome", request.outcome, DEFAULT_OUTCOME, CUSTOMER_OUTCOMES),
        max_lag=max_lag,
        options=_options(request),
    )
