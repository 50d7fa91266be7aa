"""gRPC edge of RunChainReport, a mixin of ``CorrelationServicer``: checks the request
(``chain_validation``) and runs the use case (``chain_report``) as the verified caller, whose
scope bounds the served units (a requested scope outside it is PERMISSION_DENIED)."""

from __future__ import annotations

from typing import Any

import grpc
from pulse.correlation.v1 import correlation_service_pb2 as pb

from pulse_correlation import validation
from pulse_correlation.chain_report import run_chain_report
from pulse_correlation.chain_validation import chain_request
from pulse_correlation.context import Deps

Context = grpc.aio.ServicerContext[Any, Any]


class ChainServicer:
    deps: Deps

    async def RunChainReport(  # noqa: N802
        self, request: pb.RunChainReportRequest, context: Context
    ) -> pb.RunChainReportResponse:
        checked = chain_request(request, self.deps.settings.period)
        report = await run_chain_report(self.deps, checked, validation.caller_viewer())
        return pb.RunChainReportResponse(report=report)
