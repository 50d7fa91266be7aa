"""gRPC servicer: validates every field (INVALID_ARGUMENT names it, nothing is written) and
translates between protos and the use cases."""

from __future__ import annotations

from typing import Any

import asyncpg
import grpc
from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse.correlation.v1 import correlation_service_pb2_grpc as pb_grpc
from pulse.types.v1 import types_pb2
from pulse_common.config import Settings
from pulse_common.errors import InvalidArgument
from pulse_common.outbox import OutboxRelay

from pulse_correlation import linkage, scores, service
from pulse_correlation.access import Viewer, check_periods, check_viewer
from pulse_correlation.domain import CUSTOMER_OUTCOMES, OUTCOMES
from pulse_correlation.report import Options

Context = grpc.aio.ServicerContext[Any, Any]
MAX_NAME = 100
DEFAULT_RESAMPLES = 2000
MAX_RESAMPLES = 20000
MAX_LAG = 12


def _viewer(viewer: types_pb2.Viewer, present: bool) -> Viewer:
    if not present:
        raise InvalidArgument("viewer", "is required")
    return check_viewer(viewer.viewer_id, viewer.scope_unit_id)


def _name(field: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidArgument(field, "must not be empty")
    if len(value) > MAX_NAME:
        raise InvalidArgument(field, f"must be at most {MAX_NAME} characters")
    return value


def _names(field: str, values: list[str], limit: int = 50) -> list[str]:
    if len(values) > limit:
        raise InvalidArgument(field, f"at most {limit} values")
    checked = [_name(f"{field}[{i}]", v) for i, v in enumerate(values)]
    return list(dict.fromkeys(checked))


def _scope(value: str) -> str:
    if len(value) > MAX_NAME:
        raise InvalidArgument("scope_unit_id", f"must be at most {MAX_NAME} characters")
    return value.strip()


def _options(request: pb.RunLinkageReportRequest) -> Options:
    if not request.HasField("options"):
        return Options(DEFAULT_RESAMPLES, DEFAULT_RESAMPLES, 0.95, "pearson", 0)
    o = request.options
    for field, value in (
        ("options.bootstrap_resamples", o.bootstrap_resamples),
        ("options.permutation_resamples", o.permutation_resamples),
    ):
        if not 0 <= value <= MAX_RESAMPLES:
            raise InvalidArgument(field, f"must be between 0 and {MAX_RESAMPLES}")
        if value == 1:
            raise InvalidArgument(field, "must be 0 (skip) or at least 2")
    level = o.confidence_level or 0.95
    if not 0.5 <= level < 1.0:
        raise InvalidArgument("options.confidence_level", "must be in [0.5, 1)")
    method = o.method or "pearson"
    if method not in ("pearson", "spearman", "kendall"):
        raise InvalidArgument("options.method", "must be pearson, spearman or kendall")
    return Options(
        o.bootstrap_resamples,
        o.permutation_resamples,
        level,
        method,  # type: ignore[arg-type]
        o.random_seed,
    )


def _cell(c: scores.Cell) -> pb.ScoreCell:
    return pb.ScoreCell(
        unit_id=c.unit_id,
        unit_name=c.unit_name,
        period=c.period,
        construct=c.construct,
        n=c.n,
        value=c.value,
        ci_low=c.ci_low,
        ci_high=c.ci_high,
        suppressed=c.suppressed,
        suppression_reason=c.reason,
        rolled_up=c.rolled_up,
    )


class CorrelationServicer(pb_grpc.CorrelationServiceServicer):
    def __init__(self, pool: asyncpg.Pool, settings: Settings, relay: OutboxRelay) -> None:
        self.pool = pool
        self.settings = settings
        self.relay = relay

    @property
    def k(self) -> int:
        return self.settings.min_group_size

    async def GetIngestionStats(  # noqa: N802
        self, request: pb.GetIngestionStatsRequest, context: Context
    ) -> pb.GetIngestionStatsResponse:
        s = await service.ingestion_stats(self.pool)
        return pb.GetIngestionStatsResponse(
            responses_counted=s.get("responses_counted", 0),
            employee_responses=s.get("employee_responses", 0),
            customer_responses=s.get("customer_responses", 0),
            internal_service_responses=s.get("internal_responses", 0),
            messages_processed=s["messages_processed"],
            surveys_known=s["surveys_known"],
            units_known=s["units_known"],
        )

    async def GetScores(  # noqa: N802
        self, request: pb.GetScoresRequest, context: Context
    ) -> pb.GetScoresResponse:
        viewer = _viewer(request.viewer, request.HasField("viewer"))
        scope = _scope(request.scope_unit_id)
        period_from, period_to = check_periods(request.period_from, request.period_to)
        constructs = _names("constructs", list(request.constructs))
        cells, k_applied = await scores.scores(
            self.pool, self.k, viewer, scope, period_from, period_to, constructs
        )
        return pb.GetScoresResponse(cells=[_cell(c) for c in cells], min_group_size=k_applied)

    async def GetTrends(  # noqa: N802
        self, request: pb.GetTrendsRequest, context: Context
    ) -> pb.GetTrendsResponse:
        viewer = _viewer(request.viewer, request.HasField("viewer"))
        unit_id = _name("unit_id", request.unit_id)
        construct = _name("construct", request.construct)
        period_from, period_to = check_periods(request.period_from, request.period_to)
        cells, _ = await scores.scores(
            self.pool,
            self.k,
            viewer,
            unit_id,
            period_from,
            period_to,
            [construct],
            only_unit=unit_id,
        )
        return pb.GetTrendsResponse(points=[_cell(c) for c in cells])

    async def RunLinkageReport(  # noqa: N802
        self, request: pb.RunLinkageReportRequest, context: Context
    ) -> pb.RunLinkageReportResponse:
        viewer = _viewer(request.viewer, request.HasField("viewer"))
        scope = _scope(request.scope_unit_id)
        period_from, period_to = check_periods(request.period_from, request.period_to)
        outcome = request.outcome.strip()
        if outcome not in OUTCOMES:
            raise InvalidArgument("outcome", f"must be one of {', '.join(OUTCOMES)}")
        predictors = _names("predictors", list(request.predictors))
        for i, p in enumerate(predictors):
            if p in OUTCOMES or p.removeprefix("internal.") in CUSTOMER_OUTCOMES:
                raise InvalidArgument(f"predictors[{i}]", "must be an employee construct")
        if not 0 <= request.max_lag <= MAX_LAG:
            raise InvalidArgument("max_lag", f"must be between 0 and {MAX_LAG}")
        covariates = _names("covariates", list(request.covariates), limit=10) or ["unit_size"]
        report = await linkage.run_report(
            self.pool,
            self.k,
            linkage.ReportRequest(
                viewer=viewer,
                scope_unit_id=scope,
                period_from=period_from,
                period_to=period_to,
                predictors=predictors,
                outcome=outcome,
                max_lag=request.max_lag,
                covariates=covariates,
                options=_options(request),
            ),
            self.relay.notify,
        )
        return pb.RunLinkageReportResponse(report=report)

    async def GetReport(  # noqa: N802
        self, request: pb.GetReportRequest, context: Context
    ) -> pb.GetReportResponse:
        viewer = _viewer(request.viewer, request.HasField("viewer"))
        report_id = service.parse_report_id(request.report_id)
        return pb.GetReportResponse(report=await service.get_report(self.pool, viewer, report_id))

    async def ListReports(  # noqa: N802
        self, request: pb.ListReportsRequest, context: Context
    ) -> pb.ListReportsResponse:
        viewer = _viewer(request.viewer, request.HasField("viewer"))
        limit = request.limit or 50
        if not 1 <= limit <= 500:
            raise InvalidArgument("limit", "must be between 1 and 500")
        return pb.ListReportsResponse(reports=await service.list_reports(self.pool, viewer, limit))

    async def ExportReport(  # noqa: N802
        self, request: pb.ExportReportRequest, context: Context
    ) -> pb.ExportReportResponse:
        viewer = _viewer(request.viewer, request.HasField("viewer"))
        report_id = service.parse_report_id(request.report_id)
        if request.format not in (pb.EXPORT_FORMAT_JSON, pb.EXPORT_FORMAT_CSV):
            raise InvalidArgument("format", "must be EXPORT_FORMAT_JSON or EXPORT_FORMAT_CSV")
        return await service.export_report(
            self.pool, viewer, report_id, request.format == pb.EXPORT_FORMAT_CSV
        )
