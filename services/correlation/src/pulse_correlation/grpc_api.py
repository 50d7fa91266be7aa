"""gRPC servicer, thin: ``validation`` checks every field, the use cases do the work, and
this module translates between protobuf and their plain values."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import grpc
from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse.correlation.v1 import correlation_service_pb2_grpc as pb_grpc
from pulse_common.periods import Granularity

from pulse_correlation import linkage, reports, validation
from pulse_correlation.action_grpc import ActionServicer
from pulse_correlation.chain_grpc import ChainServicer, summary_message
from pulse_correlation.context import Deps
from pulse_correlation.dashboard import DashboardQuery, UnitRef, dashboard
from pulse_correlation.score_cells import Cell
from pulse_correlation.scores import ScoreQuery, scores

Context = grpc.aio.ServicerContext[Any, Any]


def _cells(cells: list[Cell]) -> list[pb.ScoreCell]:
    return [pb.ScoreCell(**asdict(cell)) for cell in cells]


def _unit(unit: UnitRef) -> pb.DashboardUnit:
    return pb.DashboardUnit(**asdict(unit))


class CorrelationServicer(ActionServicer, ChainServicer, pb_grpc.CorrelationServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    @property
    def granularity(self) -> Granularity:
        return self.deps.settings.period

    async def GetIngestionStats(  # noqa: N802
        self, request: pb.GetIngestionStatsRequest, context: Context
    ) -> pb.GetIngestionStatsResponse:
        stats = await reports.ingestion_stats(self.deps)
        return pb.GetIngestionStatsResponse(**asdict(stats))

    async def GetScores(  # noqa: N802
        self, request: pb.GetScoresRequest, context: Context
    ) -> pb.GetScoresResponse:
        viewer = validation.caller_viewer()
        scope = validation.optional_unit("scope_unit_id", request.scope_unit_id)
        period_from, period_to = validation.periods(
            request.period_from, request.period_to, self.granularity
        )
        constructs = validation.constructs("constructs", request.constructs)
        found = await scores(
            self.deps, ScoreQuery(viewer, scope, period_from, period_to, constructs)
        )
        return pb.GetScoresResponse(cells=_cells(found.cells), min_group_size=found.k_applied)

    async def GetTrends(  # noqa: N802
        self, request: pb.GetTrendsRequest, context: Context
    ) -> pb.GetTrendsResponse:
        viewer = validation.caller_viewer()
        unit_id = validation.unit("unit_id", request.unit_id)
        construct = validation.construct("construct", request.construct)
        period_from, period_to = validation.periods(
            request.period_from, request.period_to, self.granularity
        )
        found = await scores(
            self.deps,
            ScoreQuery(viewer, unit_id, period_from, period_to, (construct,), trend=True),
        )
        return pb.GetTrendsResponse(points=_cells(found.cells))

    async def RunLinkageReport(  # noqa: N802
        self, request: pb.RunLinkageReportRequest, context: Context
    ) -> pb.RunLinkageReportResponse:
        checked = validation.report_request(request, self.granularity, validation.caller_viewer())
        return pb.RunLinkageReportResponse(report=await linkage.run_report(self.deps, checked))

    async def GetReport(  # noqa: N802
        self, request: pb.GetReportRequest, context: Context
    ) -> pb.GetReportResponse:
        viewer = validation.caller_viewer()
        report_id = validation.report_id(request.report_id)
        return pb.GetReportResponse(report=await reports.get_report(self.deps, viewer, report_id))

    async def ListReports(  # noqa: N802
        self, request: pb.ListReportsRequest, context: Context
    ) -> pb.ListReportsResponse:
        viewer = validation.caller_viewer()
        limit = validation.report_limit(request.limit)
        found = await reports.list_reports(self.deps, viewer, limit)
        return pb.ListReportsResponse(reports=[summary_message(r) for r in found])

    async def ExportReport(  # noqa: N802
        self, request: pb.ExportReportRequest, context: Context
    ) -> pb.ExportReportResponse:
        viewer = validation.caller_viewer()
        report_id = validation.report_id(request.report_id)
        csv_format = validation.csv_format(request.format)
        exported = await reports.export_report(self.deps, viewer, report_id, csv_format)
        return pb.ExportReportResponse(**asdict(exported))

    async def GetDashboard(  # noqa: N802
        self, request: pb.GetDashboardRequest, context: Context
    ) -> pb.GetDashboardResponse:
        viewer = validation.caller_viewer()
        unit_id = validation.optional_unit("unit_id", request.unit_id)
        period_from, period_to = validation.periods(
            request.period_from, request.period_to, self.granularity
        )
        constructs = validation.constructs("constructs", request.constructs)
        page = await dashboard(
            self.deps, DashboardQuery(viewer, unit_id, period_from, period_to, constructs)
        )
        return pb.GetDashboardResponse(
            unit=_unit(page.unit),
            children=[_unit(u) for u in page.children],
            path=[_unit(u) for u in page.path],
            cells=_cells(page.cells),
            min_group_size=page.k_applied,
            movers=[
                pb.DashboardMover(
                    unit=_unit(page.mover_units[m.unit_id]),
                    construct=m.construct,
                    period=m.period,
                    previous_period=m.previous_period,
                    value=m.value,
                    previous_value=m.previous_value,
                    change=m.change,
                    noise=m.noise,
                )
                for m in page.movers
            ],
        )
