"""A unit's "acting on it" page: the actions taken for the team, each with the measure before
and after and the comparison with units without an action (worded as evidence, not proof,
by the correlation service); a form to record one; the customers' detractor follow-ups
still open, each closed with its outcome; and the follow-ups flagged/closed per period."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse_common import errors
from pulse_common.fields import require_unit_id
from pulse_common.measures import OUTCOMES, PREDICTORS, human_name
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pulse_web.leader_page import render, units_for
from pulse_web.pages import error_page
from pulse_web.session import csrf_ok, current_account
from pulse_web.state import state_of

MEASURE_CHOICES = [(code, human_name(code)) for code in (*PREDICTORS, *OUTCOMES)]


def _unit_of(request: Request) -> str:
    return require_unit_id("unit", str(request.path_params.get("unit_id", "")))


async def unit_actions_page(request: Request) -> Response:
    account = current_account(request)
    unit_id = _unit_of(request)
    units = await units_for(request, account, unit_id)  # 403 outside the leader's subtree
    unit = next((u for u in units if u.unit_id == unit_id), None)
    api = state_of(request).api()
    listed, follow_ups, counts = await asyncio.gather(
        api.call(api.correlation.ListActions, corr_pb.ListActionsRequest(unit_id=unit_id)),
        api.call(api.response.ListFollowUps, resp_pb.ListFollowUpsRequest(unit_id=unit_id)),
        api.call(api.response.CountFollowUps, resp_pb.CountFollowUpsRequest(unit_id=unit_id)),
    )
    views = await asyncio.gather(
        *(
            api.call(api.correlation.GetAction, corr_pb.GetActionRequest(action_id=a.action_id))
            for a in listed.actions
        )
    )
    return render(
        request,
        "unit_actions.html",
        {
            "unit_id": unit_id,
            "unit_name": unit.name if unit else unit_id,
            "actions": views,
            "follow_ups": follow_ups.follow_ups,
            "counts": counts.counts,
            "measures": MEASURE_CHOICES,
            "human_name": human_name,
        },
    )


async def _form(request: Request) -> dict[str, str] | Response:
    current_account(request)
    form = await request.form(max_files=0, max_fields=12)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not csrf_ok(request, fields.get("csrf", "")):
        return error_page(request, errors.PermissionDenied("the form expired; reload the page"))
    return fields


async def add_action(request: Request) -> Response:
    fields = await _form(request)
    if isinstance(fields, Response):
        return fields
    unit_id = _unit_of(request)
    await units_for(request, current_account(request), unit_id)
    api = state_of(request).api()
    await api.call(
        api.correlation.AddAction,
        corr_pb.AddActionRequest(
            unit_id=unit_id,
            measure=fields.get("measure", ""),
            title=fields.get("title", ""),
            owner=fields.get("owner", ""),
            start_date=fields.get("start_date", ""),
        ),
    )
    return RedirectResponse(f"/units/{quote(unit_id)}/actions", status_code=303)


async def close_follow_up(request: Request) -> Response:
    fields = await _form(request)
    if isinstance(fields, Response):
        return fields
    unit_id = _unit_of(request)
    await units_for(request, current_account(request), unit_id)
    api = state_of(request).api()
    await api.call(
        api.response.CloseFollowUp,
        resp_pb.CloseFollowUpRequest(
            follow_up_id=fields.get("follow_up_id", ""), outcome=fields.get("outcome", "")
        ),
    )
    return RedirectResponse(f"/units/{quote(unit_id)}/actions", status_code=303)


routes = [
    Route("/units/{unit_id}/actions", unit_actions_page, methods=["GET"]),
    Route("/units/{unit_id}/actions", add_action, methods=["POST"]),
    Route("/units/{unit_id}/follow-ups/close", close_follow_up, methods=["POST"]),
]
