"""The internal-customer chain on the web: serving units' service -> the served teams'
treatment -> their customers, each link and the indirect path with intervals, alpha of each
multi-item measure and the verdict, as ``RunChainReport`` gives them (estimates only; the
caller's scope bounds the served teams). Also as JSON."""

from __future__ import annotations

from google.protobuf.json_format import MessageToJson
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse_common.measures import CUSTOMER_OUTCOMES, PREDICTORS, human_name
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pulse_web.filters import unit_and_periods
from pulse_web.leader_page import render, units_for
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


async def chain_page(request: Request) -> Response:
    report, chosen = await _report(request)
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
        },
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
]
