"""Whose identity the web's calls to the services carry, per HTTP request. Respondent pages
call as ``respondent-front`` (GetForm and Submit only); a leader page, once
``session.current_account`` has found the signed-in leader, calls with that leader's token
(role ``leader``, the account's scope). The choice is reset at the start of every request,
so nothing carries over from one request to the next, and a page that never established a
leader calls as respondent-front, which the services refuse for everything a leader reads
(fail closed)."""

from __future__ import annotations

import contextvars

from starlette.types import ASGIApp, Receive, Scope, Send

Metadata = tuple[tuple[str, str], ...]


class _Identity:
    """One request's identity. Mutable and shared by reference, so tasks the page starts
    (``asyncio.gather``) see the leader established by ``current_account``."""

    __slots__ = ("leader",)

    def __init__(self) -> None:
        self.leader: Metadata | None = None


_IDENTITY: contextvars.ContextVar[_Identity | None] = contextvars.ContextVar(
    "identity", default=None
)


def use_leader(metadata: Metadata) -> None:
    """The rest of this request calls the services as this leader."""
    identity = _IDENTITY.get()
    if identity is None:  # outside IdentityMiddleware (a bare app in a test): this context
        identity = _Identity()
        _IDENTITY.set(identity)
    identity.leader = metadata


def leader_metadata() -> Metadata | None:
    identity = _IDENTITY.get()
    return identity.leader if identity is not None else None


class IdentityMiddleware:
    """Starts every request without a leader identity."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _IDENTITY.set(_Identity())
        try:
            await self.app(scope, receive, send)
        finally:
            _IDENTITY.reset(token)
