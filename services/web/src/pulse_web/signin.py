"""Sign-in and sign-out pages (CSRF-checked, rate limited per client)."""

from __future__ import annotations

from pulse_common import errors
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pulse_web.accounts import authenticate
from pulse_web.pages import error_page
from pulse_web.session import HOME, csrf_for, csrf_ok, safe_next, session_nonce
from pulse_web.state import state_of


async def login_form(request: Request) -> Response:
    next_path = request.query_params.get("next", HOME)
    return state_of(request).templates.TemplateResponse(
        request,
        "login.html",
        {"csrf_token": csrf_for(request), "next": safe_next(next_path), "error": ""},
    )


async def login(request: Request) -> Response:
    state = state_of(request)
    if not state.login_limiter.allow(state.client_id(request)):
        return error_page(request, errors.ResourceExhausted("too many sign-in attempts"))
    form = await request.form(max_files=0, max_fields=10)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not csrf_ok(request, fields.get("csrf", "")):
        return error_page(request, errors.PermissionDenied("the sign-in form expired; reload it"))
    username = fields.get("username", "").strip()
    if not state.login_user_limiter.allow(username.lower()):
        return error_page(request, errors.ResourceExhausted("too many sign-in attempts"))
    account = authenticate(
        state.config.accounts, username, fields.get("password", ""), state.config.decoy_hash
    )
    next_path = safe_next(fields.get("next", HOME))
    if account is None:
        return state.templates.TemplateResponse(
            request,
            "login.html",
            {
                "csrf_token": csrf_for(request),
                "next": next_path,
                "error": "Unknown user name or wrong password.",
                "username": fields.get("username", ""),
            },
            status_code=401,
        )
    request.session.clear()  # fresh nonce after sign-in (no session fixation)
    tokens = state.api().leader_tokens(account.username, account.scope_unit_id)
    request.session["sid"] = state.sessions.create(account.username, tokens)
    session_nonce(request)
    return RedirectResponse(next_path, status_code=303)


async def logout(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=5)
    token = form.get("csrf")
    if isinstance(token, str) and csrf_ok(request, token):
        # Revoked server-side: the cookie, even copied, opens nothing any more.
        state_of(request).sessions.revoke(request.session.get("sid"))
        request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def home(request: Request) -> Response:
    return RedirectResponse(HOME, status_code=303)


routes = [
    Route("/", home, methods=["GET"]),
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
