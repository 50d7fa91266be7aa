"""Everything a request handler needs, built once per app (clients open in the lifespan)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from pulse_common.ratelimit import SlidingWindowLimiter
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from pulse_web.clients import Clients
from pulse_web.config import WebConfig
from pulse_web.org import OrgView

PACKAGE_DIR = Path(__file__).parent


@dataclass
class WebState:
    config: WebConfig
    templates: Jinja2Templates
    submit_limiter: SlidingWindowLimiter
    login_limiter: SlidingWindowLimiter
    clients: Clients | None = None
    org: OrgView = field(init=False)

    def __post_init__(self) -> None:
        self.org = OrgView(self.api, self.config.scope_cache_s)

    def api(self) -> Clients:
        if self.clients is None:
            raise RuntimeError("gRPC clients are not open (lifespan not started)")
        return self.clients

    def client_id(self, request: Request) -> str:
        """A rate-limit bucket for the client; the address itself never leaves the web."""
        host = request.client.host if request.client else "unknown"
        return hashlib.sha256(f"{host}|{self.config.session_secret}".encode()).hexdigest()


def state_of(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state
