"""The internal-customer chain on the web: serving units' service -> the served teams'
treatment -> their customers, each link and the indirect path with intervals, alpha of each
multi-item measure and the verdict, as ``RunChainReport`` gives them (estimates only; the
caller's scope bounds the served teams). Also as JSON. Every run is stored: the page lists
the stored chain reports the leader may read (every report whose scope lies in the leader's
scope, whoever ran it) and opens and downloads (CSV, JSON) any of them."""

from __future__ import annotations

import asyncio
import re

from google.protobuf.json_format import MessageToJson
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse_common import errors
from pulse_common.measures import CUSTOMER_OUTCOMES, PREDICTORS, human_name
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pulse_web.filters import unit_and_periods
from pulse_web.leader_page import render, units_for
from pulse_web.report_view import alpha_rows
from pulse_web.session import current_account
from pulse_web.state import state_of

PATH_WORDS = {
    "service->mediator": "Service received -> treatment of staff",
    "mediator->outcome": "Treatment of staff -> customers (given the service)",
    "service->outcome": "Service received -> customers (total)",
    "service->outcome|mediator": "Service received -> customers (direct, given treatment)",
}


async def _report(request: Request) -> tuple[corr_pb.ChainReport, dict[str, str]]:
    account = current_account(request)
    state = state_of(request)
    fields = {k: v for k, v in request.query_params.items()}
    unit, period_from, period_to = unit_and_periods(fields, "scope", state.config.settings.period)
    await units_for(request, account, unit)
    api = state.api()
    reply = await api.call(
        api.correlation.RunChainReport,
        corr_pb.RunChainReportRequest(
            scope_unit_id=unit,
            period_from=period_from,
            period_to=period_to,
            mediator=fields.get("mediator", ""),
            outcome=fields.get("outcome", ""),
        ),
    )
    return reply.report, {"scope": unit, "from": period_from, "to": period_to}


REPORT_ID = re.compile(r"^[0-9a-fA-F-]{36}$")
DOWNLOADS = {
    "csv": (corr_pb.EXPORT_FORMAT_CSV, "text/csv; charset=utf-8"),
    "json": (corr_pb.EXPORT_FORMAT_JSON, "application/json"),
}


def _report_id(request: Request) -> str:
    report_id = str(request.path_params["report_id"])
    if not REPORT_ID.match(report_id):
        raise errors.InvalidArgument("report_id", "is not a report id")
    return report_id


async def _stored(request: Request) -> corr_pb.ListChainReportsResponse:
    api = state_of(request).api()
    return await api.call(
        api.correlation.ListChainReports, corr_pb.ListChainReportsRequest(limit=20)
    )


def _page(
    request: Request,
    report: corr_pb.ChainReport,
    chosen: dict[str, str],
    stored: corr_pb.ListChainReportsResponse,
) -> Response:
    return render(
        request,
        "chain.html",
        {
            "report": report,
            "chosen": chosen,
            "path_words": PATH_WORDS,
            "mediators": [(c, human_name(c)) for c in PREDICTORS],
            "outcomes": [(c, human_name(c)) for c in CUSTOMER_OUTCOMES],
            "human_name": human_name,
            "alpha_rows": alpha_rows(report.reliability),
            "stored": stored.reports,
        },
    )


async def chain_page(request: Request) -> Response:
    current_account(request)  # before the concurrent calls: they carry the leader's identity
    (report, chosen), stored = await asyncio.gather(_report(request), _stored(request))
    return _page(request, report, chosen, stored)


async def stored_chain_page(request: Request) -> Response:
    """A stored chain report (the service decides whether the leader may read it)."""
    account = current_account(request)  # calls below carry the leader's identity
    api = state_of(request).api()
    reply, stored = await asyncio.gather(
        api.call(
            api.correlation.GetChainReport,
            corr_pb.GetChainReportRequest(report_id=_report_id(request)),
        ),
        _stored(request),
    )
    report = reply.report
    await units_for(request, account, report.scope_unit_id)
    chosen = {"scope": report.scope_unit_id, "from": report.period_from, "to": report.period_to}
    return _page(request, report, chosen, stored)


async def stored_chain_export(request: Request) -> Response:
    current_account(request)  # calls below carry the leader's identity
    kind = request.path_params["kind"]
    if kind not in DOWNLOADS:
        raise errors.NotFound("downloads exist as .csv and .json")
    report_id = _report_id(request)
    export_format, default_type = DOWNLOADS[kind]
    api = state_of(request).api()
    reply = await api.call(
        api.correlation.ExportReport,
        corr_pb.ExportReportRequest(report_id=report_id, format=export_format),
    )
    filename = re.sub(r"[^A-Za-z0-9_.-]", "_", reply.filename or f"chain-{report_id}.{kind}")
    return Response(
        reply.content,
        media_type=reply.content_type or default_type,
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


async def chain_json(request: Request) -> Response:
    report, _ = await _report(request)
    return Response(
        MessageToJson(report, preserving_proto_field_name=True),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="chain-report.json"'},
    )


routes = [
    Route("/chain", chain_page, methods=["GET"]),
    Route("/chain.json", chain_json, methods=["GET"]),
    Route("/chain/reports/{report_id}.{kind:str}", stored_chain_export, methods=["GET"]),
    Route("/chain/reports/{report_id}", stored_chain_page, methods=["GET"]),
]
