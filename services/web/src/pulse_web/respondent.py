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
    FormItem,
    ParsedForm,
    form_items,
    item_for_server_error,
    parse_answers,
    readable_server_message,
    to_proto,
)
from pulse_web.csrf import check_csrf_token, make_csrf_token
from pulse_web.i18n import N_, Translator, choose, offered, survey_name, switch_links
from pulse_web.pages import error_page, invalid_link_page, translator_for
from pulse_web.state import state_of

log = logging.getLogger(__name__)
MAX_TOKEN_CHARS = 200
# The form's idempotency key, kept for its link only (path /s/<token>): a respondent whose
# submit failed and who opens the link again gets the form again and the same key, so the
# second submit completes the first instead of finding the link used (issue 14).
FORM_KEY_COOKIE = "pulse_form_key"
FORM_KEY_MAX_AGE_S = 30 * 24 * 3600
# The language the form was last shown in, for the same link only (a revisit after
# answering is thanked in it).
FORM_LANGUAGE_COOKIE = "pulse_form_lang"
NOT_SAVED = N_(
    "Your answers could not be saved just now. Nothing is lost: please send them again in a moment."
)
FORM_EXPIRED = N_(
    "This form has expired or did not come from this site. Please open your link again and"
    " resubmit."
)
# How a customer's interaction is named in the page heading ("About your call with ...").
CHANNELS = {
    "call": N_("call"),
    "ticket": N_("support request"),
    "chat": N_("chat"),
    "visit": N_("visit"),
    "email": N_("e-mail"),
}


def error_targets(items: list[FormItem]) -> dict[str, str]:
    """Item id -> the id of its first input (the error summary links there, not to a label,
    so following the link puts focus where the answer goes)."""
    targets = {}
    for index, item in enumerate(items, 1):
        if item.widget == "choice" and item.choices:
            targets[item.item_id] = f"q{index}-{item.choices[0].value}"
        else:
            targets[item.item_id] = f"q{index}-text"
    return targets


def page_translator(request: Request, reply: resp_pb.GetFormResponse, picked: str) -> Translator:
    """The form's language: the switch (``picked``), the invitation's, the browser's, the
    survey's (see ``i18n``), among those the survey offers for every item."""
    accept = request.headers.get("accept-language", "")
    return Translator(choose(offered(reply.definition), picked, reply.language, accept))


def _usable_key(key: str | None) -> str | None:
    if key and 16 <= len(key) <= 128 and key.isascii() and key.isprintable():
        return key
    return None


def _keep_key(request: Request, response: Response, token: str, key: str) -> Response:
    response.set_cookie(
        FORM_KEY_COOKIE,
        key,
        max_age=FORM_KEY_MAX_AGE_S,
        path=f"/s/{token}",
        httponly=True,
        samesite="lax",
        secure=state_of(request).config.secure_cookies,
    )
    return response


def _token(request: Request) -> str:
    return str(request.path_params["token"])


def _form_context(
    request: Request,
    token: str,
    reply: resp_pb.GetFormResponse,
    parsed: ParsedForm | None = None,
    idempotency_key: str | None = None,
    share: bool = False,
    tr: Translator | None = None,
) -> dict[str, Any]:
    state = state_of(request)
    definition = reply.definition
    tr = tr or page_translator(request, reply, "")
    items = form_items(reply.items or definition.items, tr)
    customer = is_customer(definition.kind)
    has_text = any(item.widget == "text" for item in items)
    parsed = parsed or ParsedForm()
    ordered_errors = [item for item in items if item.item_id in parsed.errors]
    channel = CHANNELS.get(reply.channel)
    return {
        **tr.context(),
        "languages": switch_links(f"/s/{token}", offered(definition), tr.language),
        "channel": tr.gettext(channel) if channel else "",
        "period_word": tr.gettext(
            N_("week") if state.config.settings.period == "week" else N_("month")
        ),
        "token": token,
        "survey_name": survey_name(definition, tr.language),
        "unit_name": reply.unit_name,
        "items": items,
        "errors": parsed.errors,
        "error_items": ordered_errors,
        "error_targets": error_targets(items),
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


async def _get_form(request: Request, token: str, key: str = "") -> resp_pb.GetFormResponse:
    api = state_of(request).api()
    return await api.call(
        api.response.GetForm, resp_pb.GetFormRequest(token=token, idempotency_key=key)
    )


async def survey_form(request: Request) -> Response:
    token = _token(request)
    if len(token) > MAX_TOKEN_CHARS:
        return invalid_link_page(request)
    earlier_key = _usable_key(request.cookies.get(FORM_KEY_COOKIE))
    try:
        reply = await _get_form(request, token, earlier_key or "")
    except errors.Unauthenticated:
        return invalid_link_page(request)
    except errors.AlreadyExists:
        # Thanked again in the language the form was shown in.
        language = request.cookies.get(FORM_LANGUAGE_COOKIE, "")
        context = translator_for(request, language).context()
        return state_of(request).templates.TemplateResponse(request, "thanks.html", context)
    key = earlier_key or secrets.token_urlsafe(24)
    tr = page_translator(request, reply, request.query_params.get("lang", ""))
    page = state_of(request).templates.TemplateResponse(
        request, "form.html", _form_context(request, token, reply, idempotency_key=key, tr=tr)
    )
    page.set_cookie(
        FORM_LANGUAGE_COOKIE,
        tr.language,
        max_age=FORM_KEY_MAX_AGE_S,
        path=f"/s/{token}",
        httponly=True,
        samesite="lax",
        secure=state_of(request).config.secure_cookies,
    )
    return _keep_key(request, page, token, key)


async def submit(request: Request) -> Response:
    state = state_of(request)
    token = _token(request)
    if not state.submit_limiter.allow(state.client_id(request)) or not (
        state.token_limiter.allow(state.link_id(token))
    ):
        return error_page(request, errors.ResourceExhausted("too many submissions"))
    if len(token) > MAX_TOKEN_CHARS:
        return invalid_link_page(request)
    form = await request.form(max_files=0, max_fields=200)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    picked = fields.get("lang", "")
    if not check_csrf_token(state.config.session_secret, f"/s/{token}", fields.get("csrf", "")):
        message = translator_for(request, picked).gettext(FORM_EXPIRED)
        return error_page(request, errors.PermissionDenied(message), picked)
    key = _usable_key(fields.get("idempotency_key")) or secrets.token_urlsafe(24)
    try:
        reply = await _get_form(request, token, key)
    except errors.Unauthenticated:
        return invalid_link_page(request, picked)
    except errors.AlreadyExists:  # the answers arrived earlier: thank them
        done = translator_for(request, picked).language
        return RedirectResponse(f"/s/thanks?lang={done}", status_code=303)
    tr = page_translator(request, reply, picked)
    thanks_page = f"/s/thanks?lang={tr.language}"
    context_items = form_items(reply.items or reply.definition.items, tr)
    parsed = parse_answers(context_items, fields, tr)
    share = fields.get("share_comment") == "yes"
    if parsed.errors:
        return _rerender(request, token, reply, parsed, key, share, tr=tr)
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
                # The grant GetForm just sealed for this token: Submit checks the answers
                # against it and calls the survey service once (it never leaves the server).
                form_grant=reply.form_grant,
            ),
        )
    except errors.Unauthenticated:
        return invalid_link_page(request, tr.language)
    except errors.RetryableError:
        # The link may be redeemed already: the same key completes this submit later.
        parsed.errors["_form"] = tr.gettext(NOT_SAVED)
        return _rerender(request, token, reply, parsed, key, share, status_code=503, tr=tr)
    except errors.InvalidArgument as error:
        known = [item.item_id for item in context_items]
        item_id = item_for_server_error(error.field, error.message, parsed.answers, known)
        message = readable_server_message(error.message)
        if item_id is None:
            log.info("submission refused", extra={"field": error.field})
            parsed.errors["_form"] = message
        else:
            parsed.errors[item_id] = message[:1].upper() + message[1:]
        return _rerender(request, token, reply, parsed, key, share, tr=tr)
    return RedirectResponse(thanks_page, status_code=303)


def _rerender(
    request: Request,
    token: str,
    reply: resp_pb.GetFormResponse,
    parsed: ParsedForm,
    key: str,
    share: bool,
    status_code: int = 422,
    tr: Translator | None = None,
) -> Response:
    context = _form_context(request, token, reply, parsed, key, share, tr)
    page = state_of(request).templates.TemplateResponse(
        request, "form.html", context, status_code=status_code
    )
    return _keep_key(request, page, token, key)


async def thanks(request: Request) -> Response:
    context = translator_for(request).context()
    return state_of(request).templates.TemplateResponse(request, "thanks.html", context)


routes = [
    Route("/s/thanks", thanks, methods=["GET"]),
    Route("/s/{token}", survey_form, methods=["GET"]),
    Route("/s/{token}", submit, methods=["POST"]),
]
