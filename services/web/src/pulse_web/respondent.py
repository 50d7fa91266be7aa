"""Respondent pages: the survey form behind a token link, submission and thank-you."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse_common import errors
from pulse_common.measures import is_customer
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pulse_web.answers import (
    ParsedForm,
    form_items,
    item_for_server_error,
    parse_answers,
    readable_server_message,
    to_proto,
)
from pulse_web.csrf import check_csrf_token, make_csrf_token
from pulse_web.pages import error_page, invalid_link_page
from pulse_web.state import state_of

log = logging.getLogger(__name__)
MAX_TOKEN_CHARS = 200


def _token(request: Request) -> str:
    return str(request.path_params["token"])


def _form_context(
    request: Request,
    token: str,
    reply: resp_pb.GetFormResponse,
    parsed: ParsedForm | None = None,
    idempotency_key: str | None = None,
    share: bool = False,
) -> dict[str, Any]:
    state = state_of(request)
    definition = reply.definition
    items = form_items(reply.items or definition.items)
    customer = is_customer(definition.kind)
    has_text = any(item.widget == "text" for item in items)
    parsed = parsed or ParsedForm()
    ordered_errors = [item for item in items if item.item_id in parsed.errors]
    return {
        "token": token,
        "survey_name": definition.name,
        "unit_name": reply.unit_name,
        "items": items,
        "errors": parsed.errors,
        "error_items": ordered_errors,
        "values": parsed.values,
        "customer": customer,
        "offer_share": customer and has_text,
        "share": share,
        "min_group_size": definition.min_group_size or state.config.settings.min_group_size,
        "min_comment_group_size": definition.min_comment_group_size
        or state.config.settings.min_comment_group_size,
        "idempotency_key": idempotency_key or secrets.token_urlsafe(24),
        "csrf_token": make_csrf_token(state.config.session_secret, f"/s/{token}"),
    }


async def _get_form(request: Request, token: str) -> resp_pb.GetFormResponse:
    api = state_of(request).api()
    return await api.call(api.response.GetForm, resp_pb.GetFormRequest(token=token))


async def survey_form(request: Request) -> Response:
    token = _token(request)
    if len(token) > MAX_TOKEN_CHARS:
        return invalid_link_page(request)
    try:
        reply = await _get_form(request, token)
    except errors.Unauthenticated:
        return invalid_link_page(request)
    return state_of(request).templates.TemplateResponse(
        request, "form.html", _form_context(request, token, reply)
    )


async def submit(request: Request) -> Response:
    state = state_of(request)
    token = _token(request)
    if not state.submit_limiter.allow(state.client_id(request)):
        return error_page(request, errors.ResourceExhausted("too many submissions"))
    if len(token) > MAX_TOKEN_CHARS:
        return invalid_link_page(request)
    form = await request.form(max_files=0, max_fields=200)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not check_csrf_token(state.config.session_secret, f"/s/{token}", fields.get("csrf", "")):
        return error_page(
            request,
            errors.PermissionDenied(
                "This form has expired or did not come from this site. Please open your link "
                "again and resubmit."
            ),
        )
    try:
        reply = await _get_form(request, token)
    except errors.Unauthenticated:
        return invalid_link_page(request)
    context_items = form_items(reply.items or reply.definition.items)
    parsed = parse_answers(context_items, fields)
    key = fields.get("idempotency_key", "")
    if not 16 <= len(key) <= 128:
        key = secrets.token_urlsafe(24)
    share = fields.get("share_comment") == "yes"
    if parsed.errors:
        return _rerender(request, token, reply, parsed, key, share)
    api = state.api()
    try:
        await api.call(
            api.response.Submit,
            resp_pb.SubmitRequest(
                token=token,
                answers=to_proto(parsed.answers),
                idempotency_key=key,
                share_comment_with_team=share,
                client_id=state.client_id(request),
            ),
        )
    except errors.Unauthenticated:
        return invalid_link_page(request)
    except errors.InvalidArgument as error:
        known = [item.item_id for item in context_items]
        item_id = item_for_server_error(error.field, error.message, parsed.answers, known)
        message = readable_server_message(error.message)
        if item_id is None:
            log.info("submission refused", extra={"field": error.field})
            parsed.errors["_form"] = message
        else:
            parsed.errors[item_id] = message[:1].upper() + message[1:]
        return _rerender(request, token, reply, parsed, key, share)
    return RedirectResponse("/s/thanks", status_code=303)


def _rerender(
    request: Request,
    token: str,
    reply: resp_pb.GetFormResponse,
    parsed: ParsedForm,
    key: str,
    share: bool,
) -> Response:
    context = _form_context(request, token, reply, parsed, key, share)
    return state_of(request).templates.TemplateResponse(
        request, "form.html", context, status_code=422
    )


async def thanks(request: Request) -> Response:
    return state_of(request).templates.TemplateResponse(request, "thanks.html", {})


routes = [
    Route("/s/thanks", thanks, methods=["GET"]),
    Route("/s/{token}", survey_form, methods=["GET"]),
    Route("/s/{token}", submit, methods=["POST"]),
]
