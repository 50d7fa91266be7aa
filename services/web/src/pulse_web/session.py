"""The leader's session: who is signed in, the session-bound CSRF token, and the redirect
to the sign-in page when nobody is."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pulse_web.accounts import Account
from pulse_web.csrf import check_csrf_token, make_csrf_token
from pulse_web.identity import use_leader
from pulse_web.state import state_of

HOME = "/dashboard"


class LoginRequired(Exception):
    """Raised by pages that need a signed-in leader; the app answers with ``login_redirect``."""


def session_nonce(request: Request) -> str:
    nonce = request.session.get("nonce")
    if not isinstance(nonce, str):
        nonce = secrets.token_urlsafe(16)
        request.session["nonce"] = nonce
    return nonce


def csrf_for(request: Request) -> str:
    secret = state_of(request).config.session_secret
    return make_csrf_token(secret, f"session:{session_nonce(request)}")


def csrf_ok(request: Request, token: str) -> bool:
    nonce = request.session.get("nonce")
    if not isinstance(nonce, str):
        return False
    return check_csrf_token(state_of(request).config.session_secret, f"session:{nonce}", token)


def current_account(request: Request) -> Account:
    """The signed-in leader (a live server-side session), whose token the rest of this
    request's service calls carry; ``LoginRequired`` otherwise."""
    state = state_of(request)
    session = state.sessions.get(request.session.get("sid"))
    account = state.config.accounts.get(session.username) if session is not None else None
    if session is None or account is None:
        raise LoginRequired
    use_leader(session.tokens.metadata())
    return account


def safe_next(path: str) -> str:
    """Only local absolute paths, so the login page is no open redirect."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else HOME


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
