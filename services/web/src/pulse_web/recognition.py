"""The recognition board: positive customer comments shared by consent, for a unit or the
whole visible subtree (each unit/period group released on its own against the comment
threshold by the response service)."""

from __future__ import annotations

from datetime import date

from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse_common.periods import periods_back
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pulse_web.filters import unit_and_periods
from pulse_web.leader_page import render, units_for
from pulse_web.session import current_account, viewer_of
from pulse_web.state import state_of

# Periods shown when no range is given.
DEFAULT_PERIODS = 6


async def recognition(request: Request) -> Response:
    account = current_account(request)
    state = state_of(request)
    settings = state.config.settings
    unit, period_from, period_to = unit_and_periods(request.query_params, "unit", settings.period)
    default_from, default_to = periods_back(date.today(), settings.period, DEFAULT_PERIODS)
    period_from, period_to = period_from or default_from, period_to or default_to
    units = await units_for(request, account, unit)
    api = state.api()
    # No unit chosen: the whole visible subtree.
    reply = await api.call(
        api.response.ListRecognition,
        resp_pb.ListRecognitionRequest(
            unit_id=unit,
            viewer=viewer_of(account),
            limit=50,
            period_from=period_from,
            period_to=period_to,
        ),
    )
    return render(
        request,
        "recognition.html",
        {
            "units": units,
            "unit": unit,
            "unit_name": next((u.name for u in units if u.unit_id == unit), unit)
            or "all teams you can see",
            "entries": list(reply.entries),
            "suppressed": reply.suppressed,
            "suppression_reason": reply.suppression_reason,
            "min_comment_group_size": settings.min_comment_group_size,
            "period_from": period_from,
            "period_to": period_to,
        },
    )


routes = [Route("/recognition", recognition, methods=["GET"])]
