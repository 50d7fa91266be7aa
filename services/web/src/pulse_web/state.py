"""Everything a request handler needs, built once per app (clients open in the lifespan)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from pulse_common.ratelimit import SlidingWindowLimiter
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from pulse_web.client_address import client_address
from pulse_web.clients import Clients
from pulse_web.config import WebConfig
from pulse_web.org import OrgView
from pulse_web.sessions import SessionStore

PACKAGE_DIR = Path(__file__).parent
SESSION_MAX_AGE_S = 8 * 3600
SESSION_IDLE_S = 2 * 3600


@dataclass
class WebState:
    config: WebConfig
    templates: Jinja2Templates
    # Per client address: high enough for a floor of people behind one NAT address.
    submit_limiter: SlidingWindowLimiter
    login_limiter: SlidingWindowLimiter
    clients: Clients | None = None
    org: OrgView = field(init=False)
    # Per survey link and per user name: tight (one person's retries, password guessing).
    token_limiter: SlidingWindowLimiter = field(init=False)
    login_user_limiter: SlidingWindowLimiter = field(init=False)
    sessions: SessionStore = field(init=False)

    def __post_init__(self) -> None:
        self.org = OrgView(self.api, self.config.scope_cache_s)
        self.token_limiter = SlidingWindowLimiter(
            self.config.token_rate_limit, self.config.submit_rate_window_s
        )
        self.login_user_limiter = SlidingWindowLimiter(self.config.login_user_rate_limit, 60)
        self.sessions = SessionStore(SESSION_MAX_AGE_S, SESSION_IDLE_S)

    def api(self) -> Clients:
        if self.clients is None:
            raise RuntimeError("gRPC clients are not open (lifespan not started)")
        return self.clients

    def client_id(self, request: Request) -> str:
        """A rate-limit bucket for the client's real address (``X-Forwarded-For`` only from
        a trusted proxy); the address itself never leaves the web."""
        peer = request.client.host if request.client else "unknown"
        host = client_address(
            peer, request.headers.get("x-forwarded-for"), self.config.trusted_proxies
        )
        return hashlib.sha256(f"{host}|{self.config.session_secret}".encode()).hexdigest()

    def link_id(self, token: str) -> str:
        """A rate-limit bucket for one survey link (never the link itself)."""
        return hashlib.sha256(f"link|{token}|{self.config.session_secret}".encode()).hexdigest()


def state_of(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state
