"""The recognition board and its moderation, and the organisation-wide "service done right"
page. Customer praise shared by consent is queued for a team lead: approve (shown on the
team's board and the organisation-wide page), hide, or report (inappropriate or naming
someone). Stories come redacted from the response service (contact details and names of
people, always); every unit x period group is released against the comment threshold."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse_common import errors
from pulse_common.periods import periods_back
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pulse_web.filters import unit_and_periods
from pulse_web.leader_page import render, units_for
from pulse_web.org import UnitInfo
from pulse_web.pages import error_page
from pulse_web.session import csrf_ok, current_account
from pulse_web.state import state_of

# Periods shown when no range is given: the board, and the organisation-wide page.
DEFAULT_PERIODS = 6
DONE_RIGHT_PERIODS = 3
DONE_RIGHT_STORIES = 12
DECISIONS = {
    "approve": resp_pb.RECOGNITION_STATUS_APPROVED,
    "hide": resp_pb.RECOGNITION_STATUS_HIDDEN,
    "report": resp_pb.RECOGNITION_STATUS_REPORTED,
}


def _range(request: Request, count: int) -> tuple[str, str, str]:
    """The unit and period range asked for (the last ``count`` periods by default)."""
    granularity = state_of(request).config.settings.period
    unit, period_from, period_to = unit_and_periods(request.query_params, "unit", granularity)
    default_from, default_to = periods_back(date.today(), granularity, count)
    return unit, period_from or default_from, period_to or default_to


def _names(units: list[UnitInfo]) -> dict[str, str]:
    return {u.unit_id: u.name for u in units}


async def _list(
    request: Request, unit: str, period_from: str, period_to: str, status: int
) -> resp_pb.ListRecognitionResponse:
    api = state_of(request).api()
    return await api.call(
        api.response.ListRecognition,
        resp_pb.ListRecognitionRequest(
            unit_id=unit,
            period_from=period_from,
            period_to=period_to,
            limit=50,
            status=resp_pb.RecognitionStatus.ValueType(status),
        ),
    )


async def recognition(request: Request) -> Response:
    """The board of a unit (or every team the leader sees) and its moderation queue."""
    account = current_account(request)
    unit, period_from, period_to = _range(request, DEFAULT_PERIODS)
    units = await units_for(request, account, unit)
    # No unit chosen: the whole visible subtree.
    board = await _list(request, unit, period_from, period_to, resp_pb.RECOGNITION_STATUS_APPROVED)
    queue = await _list(request, unit, period_from, period_to, resp_pb.RECOGNITION_STATUS_PENDING)
    settings = state_of(request).config.settings
    return render(
        request,
        "recognition.html",
        {
            "units": units,
            "unit": unit,
            "unit_names": _names(units),
            "unit_name": _names(units).get(unit, unit) or "all teams you can see",
            "entries": list(board.entries),
            "pending": list(queue.entries),
            "suppressed": board.suppressed,
            "suppression_reason": board.suppression_reason,
            "min_comment_group_size": settings.min_comment_group_size,
            "period_from": period_from,
            "period_to": period_to,
            "back": request.url.query,
        },
    )


async def moderate(request: Request) -> Response:
    """Approve, hide or report one story, then back to the board it was decided on."""
    current_account(request)
    form = await request.form(max_files=0, max_fields=10)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not csrf_ok(request, fields.get("csrf", "")):
        return error_page(request, errors.PermissionDenied("the form expired; reload the page"))
    decision = DECISIONS.get(fields.get("decision", ""))
    if decision is None:
        raise errors.InvalidArgument("decision", "must be approve, hide or report")
    api = state_of(request).api()
    await api.call(
        api.response.ModerateRecognition,
        resp_pb.ModerateRecognitionRequest(
            entry_id=fields.get("entry_id", ""),
            status=resp_pb.RecognitionStatus.ValueType(decision),
        ),
    )
    back = {k: fields[k] for k in ("unit", "from", "to") if fields.get(k)}
    return RedirectResponse(f"/recognition?{urlencode(back)}", status_code=303)


async def done_right(request: Request) -> Response:
    """Organisation-wide: the best rated approved stories of recent periods, every unit."""
    account = current_account(request)
    _, period_from, period_to = _range(request, DONE_RIGHT_PERIODS)
    api = state_of(request).api()
    reply = await api.call(
        api.response.ListRecognition,
        resp_pb.ListRecognitionRequest(
            period_from=period_from,
            period_to=period_to,
            limit=DONE_RIGHT_STORIES,
            organisation_wide=True,
        ),
    )
    units = await units_for(request, account, "")
    return render(
        request,
        "done_right.html",
        {
            "entries": list(reply.entries),
            "unit_names": _names(units),
            "period_from": period_from,
            "period_to": period_to,
        },
    )


routes = [
    Route("/recognition", recognition, methods=["GET"]),
    Route("/recognition/moderate", moderate, methods=["POST"]),
    Route("/service-done-right", done_right, methods=["GET"]),
]
