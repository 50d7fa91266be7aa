"""Request checks of the gRPC edge, pure: every field is validated (INVALID_ARGUMENT names
it, nothing is read or written) and turned into the use cases' plain values. Field rules
are the shared ones (``pulse_common.fields``, ``periods``, ``measures``); periods must be of
the deployment's granularity."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse_common.auth import current_caller
from pulse_common.errors import InvalidArgument
from pulse_common.fields import require_construct, require_unit_id
from pulse_common.measures import INTERNAL_PREFIX, OUTCOMES, close_matches, is_outcome
from pulse_common.periods import Granularity, require_period, require_range

from pulse_correlation.access import Viewer
from pulse_correlation.covariates import DEFAULT_COVARIATES
from pulse_correlation.report_model import METHODS, Method, Options, ReportRequest

DEFAULT_RESAMPLES = 2000
MAX_RESAMPLES = 20000
DEFAULT_CONFIDENCE = 0.95
DEFAULT_SMALLEST_EFFECT = 0.3  # the smallest unit-level correlation worth detecting
MIN_SMALLEST_EFFECT, MAX_SMALLEST_EFFECT = 0.05, 0.95
MAX_LAG = 12
MAX_CONSTRUCTS = 50
MAX_COVARIATES = 10
DEFAULT_REPORTS = 50
MAX_REPORTS = 500


def caller_viewer() -> Viewer:
    """The viewer is the verified caller: its id and scope come from its token, never from
    a request field (``pulse_common.auth``)."""
    caller = current_caller()
    return Viewer(caller.viewer_id, caller.scope)


def optional_unit(field: str, value: str) -> str:
    """A unit id, or "" (the viewer's scope, or the whole organisation)."""
    value = value.strip()
    return require_unit_id(field, value) if value else ""


def unit(field: str, value: str) -> str:
    return require_unit_id(field, value.strip())


def periods(period_from: str, period_to: str, granularity: Granularity) -> tuple[str, str]:
    """An optional range ("" = open), both ends of the deployment's granularity."""
    if period_from and period_to:
        first, last = require_range("period_from", period_from, "period_to", period_to, granularity)
        return first.label, last.label
    if period_from:
        return require_period("period_from", period_from, granularity).label, ""
    if period_to:
        return "", require_period("period_to", period_to, granularity).label
    return "", ""


def construct(field: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidArgument(field, "is required")
    return require_construct(field, value)


def constructs(field: str, values: Sequence[str], limit: int = MAX_CONSTRUCTS) -> tuple[str, ...]:
    """Distinct constructs in request order."""
    if len(values) > limit:
        raise InvalidArgument(field, f"at most {limit} values")
    checked = [construct(f"{field}[{i}]", v) for i, v in enumerate(values)]
    return tuple(dict.fromkeys(checked))


def report_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument("report_id", "must be a report id (UUID)") from None


def report_limit(value: int) -> int:
    limit = value or DEFAULT_REPORTS
    if not 1 <= limit <= MAX_REPORTS:
        raise InvalidArgument("limit", f"must be between 1 and {MAX_REPORTS}")
    return limit


def csv_format(value: int) -> bool:
    """True for CSV, False for JSON."""
    if value not in (pb.EXPORT_FORMAT_JSON, pb.EXPORT_FORMAT_CSV):
        raise InvalidArgument("format", "must be EXPORT_FORMAT_JSON or EXPORT_FORMAT_CSV")
    return value == pb.EXPORT_FORMAT_CSV


def _options(request: pb.RunLinkageReportRequest) -> Options:
    if not request.HasField("options"):
        return Options(DEFAULT_RESAMPLES, DEFAULT_RESAMPLES, DEFAULT_CONFIDENCE, "pearson", 0)
    o = request.options
    for field, value in (
        ("options.bootstrap_resamples", o.bootstrap_resamples),
        ("options.permutation_resamples", o.permutation_resamples),
    ):
        if not 0 <= value <= MAX_RESAMPLES:
            raise InvalidArgument(field, f"must be between 0 and {MAX_RESAMPLES}")
        if value == 1:
            raise InvalidArgument(field, "must be 0 (skip) or at least 2")
    level = o.confidence_level or DEFAULT_CONFIDENCE
    if not 0.5 <= level < 1.0:
        raise InvalidArgument("options.confidence_level", "must be in [0.5, 1)")
    method = _method(o.method or "pearson")
    effect = o.smallest_effect or DEFAULT_SMALLEST_EFFECT
    if not MIN_SMALLEST_EFFECT <= effect <= MAX_SMALLEST_EFFECT:
        raise InvalidArgument(
            "options.smallest_effect",
            f"must be between {MIN_SMALLEST_EFFECT} and {MAX_SMALLEST_EFFECT} (0 = 0.3)",
        )
    return Options(
        o.bootstrap_resamples, o.permutation_resamples, level, method, o.random_seed, effect
    )


def _method(value: str) -> Method:
    for method in METHODS:
        if method == value:
            return method
    raise InvalidArgument("options.method", "must be pearson, spearman or kendall")


def report_request(
    request: pb.RunLinkageReportRequest, granularity: Granularity, checked_viewer: Viewer
) -> ReportRequest:
    """``checked_viewer`` is the verified caller (``caller_viewer``)."""
    scope = optional_unit("scope_unit_id", request.scope_unit_id)
    period_from, period_to = periods(request.period_from, request.period_to, granularity)
    outcome = request.outcome.strip()
    if not is_outcome(outcome):
        raise InvalidArgument("outcome", close_matches(outcome, OUTCOMES))
    predictors = constructs("predictors", request.predictors)
    for i, predictor in enumerate(predictors):
        # Internal-service measures (counted under the rated unit) may predict; customer
        # outcomes may not, nor may the outcome predict itself.
        if is_outcome(predictor) and not predictor.startswith(INTERNAL_PREFIX):
            raise InvalidArgument(
                f"predictors[{i}]", "must be an employee construct or an internal.* measure"
            )
        if predictor == outcome:
            raise InvalidArgument(f"predictors[{i}]", "must differ from the outcome")
    if not 0 <= request.max_lag <= MAX_LAG:
        raise InvalidArgument("max_lag", f"must be between 0 and {MAX_LAG}")
    covariates = constructs("covariates", request.covariates, limit=MAX_COVARIATES)
    return ReportRequest(
        viewer=checked_viewer,
        scope_unit_id=scope,
        period_from=period_from,
        period_to=period_to,
        predictors=predictors,
        outcome=outcome,
        max_lag=request.max_lag,
        covariates=covariates or DEFAULT_COVARIATES,
        options=_options(request),
    )
