"""The leader's session: who is signed in, the session-bound CSRF token, and the redirect
to the sign-in page when nobody is."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from pulse.types.v1 import types_pb2
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pulse_web.accounts import Account
from pulse_web.csrf import check_csrf_token, make_csrf_token
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
    username = request.session.get("user")
    accounts = state_of(request).config.accounts
    account = accounts.get(username) if isinstance(username, str) else None
    if account is None:
        raise LoginRequired
    return account


def viewer_of(account: Account) -> types_pb2.Viewer:
    """The Viewer every service call carries: the services check the scope again."""
    return types_pb2.Viewer(viewer_id=account.username, scope_unit_id=account.scope_unit_id)


def safe_next(path: str) -> str:
    """Only local absolute paths, so the login page is no open redirect."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else HOME


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
