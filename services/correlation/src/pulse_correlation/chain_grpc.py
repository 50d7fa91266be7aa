"""gRPC edge of RunChainReport and the stored chain reports, a mixin of
``CorrelationServicer``: checks the request (``chain_validation``) and runs the use case
(``chain_report``) as the verified caller, whose scope bounds the served units (a requested
scope outside it is PERMISSION_DENIED) and the stored reports it may read (``reports``)."""

from __future__ import annotations

from typing import Any

import grpc
from pulse.correlation.v1 import correlation_service_pb2 as pb

from pulse_correlation import reports, validation
from pulse_correlation.chain_report import run_chain_report
from pulse_correlation.chain_validation import chain_request
from pulse_correlation.context import Deps
from pulse_correlation.report_repository import StoredReportSummary

Context = grpc.aio.ServicerContext[Any, Any]


def summary_message(r: StoredReportSummary) -> pb.ReportSummary:
    return pb.ReportSummary(
        report_id=str(r.report_id),
        created_at=r.created_at.isoformat(timespec="seconds"),
        scope_unit_id=r.scope_unit_id,
        outcome=r.outcome,
        verdict_level=r.verdict_level,
        units_reported=r.units_reported,
    )


class ChainServicer:
    deps: Deps

    async def RunChainReport(  # noqa: N802
        self, request: pb.RunChainReportRequest, context: Context
    ) -> pb.RunChainReportResponse:
        checked = chain_request(request, self.deps.settings.period)
        report = await run_chain_report(self.deps, checked, validation.caller_viewer())
        return pb.RunChainReportResponse(report=report)

    async def GetChainReport(  # noqa: N802
        self, request: pb.GetChainReportRequest, context: Context
    ) -> pb.GetChainReportResponse:
        viewer = validation.caller_viewer()
        report_id = validation.report_id(request.report_id)
        found = await reports.get_chain_report(self.deps, viewer, report_id)
        return pb.GetChainReportResponse(report=found)

    async def ListChainReports(  # noqa: N802
        self, request: pb.ListChainReportsRequest, context: Context
    ) -> pb.ListChainReportsResponse:
        viewer = validation.caller_viewer()
        limit = validation.report_limit(request.limit)
        found = await reports.list_chain_reports(self.deps, viewer, limit)
        return pb.ListChainReportsResponse(reports=[summary_message(r) for r in found])
