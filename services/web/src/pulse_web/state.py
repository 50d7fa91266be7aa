"""Everything a request handler needs, built once per app (clients open in the lifespan)."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2
from pulse_common.config import Settings
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from pulse_web.accounts import Account
from pulse_web.clients import Clients
from pulse_web.config import WebConfig
from pulse_web.rate_limit import SlidingWindowLimiter
from pulse_web.scope import subtree_ids

PACKAGE_DIR = Path(__file__).parent


@dataclass
class UnitInfo:
    unit_id: str
    name: str
    parent_id: str
    depth: int


@dataclass
class WebState:
    settings: Settings
    config: WebConfig
    templates: Jinja2Templates
    submit_limiter: SlidingWindowLimiter
    login_limiter: SlidingWindowLimiter
    clients: Clients | None = None
    # scope -> (expires at, units of the subtree)
    _subtrees: dict[str, tuple[float, list[UnitInfo]]] = field(default_factory=dict)

    def api(self) -> Clients:
        if self.clients is None:
            raise RuntimeError("gRPC clients are not open (lifespan not started)")
        return self.clients

    def client_id(self, request: Request) -> str:
        """A rate-limit bucket for the client; the address itself never leaves the web."""
        host = request.client.host if request.client else "unknown"
        return hashlib.sha256(f"{host}|{self.config.session_secret}".encode()).hexdigest()

    async def subtree(self, scope: str) -> list[UnitInfo]:
        """Units of the subtree under ``scope`` ("" = whole org), cached briefly."""
        now = time.monotonic()
        cached = self._subtrees.get(scope)
        if cached is not None and cached[0] > now:
            return cached[1]
        api = self.api()
        reply = await api.call(api.survey.ListUnits, survey_pb.ListUnitsRequest(root_unit_id=scope))
        ids = subtree_ids(scope, ((u.unit_id, u.parent_id) for u in reply.units))
        units = [
            UnitInfo(u.unit_id, u.name, u.parent_id, u.depth)
            for u in reply.units
            if u.unit_id in ids
        ]
        units.sort(key=lambda u: (u.depth, u.name))
        self._subtrees[scope] = (now + self.config.scope_cache_s, units)
        return units


def viewer_of(account: Account) -> types_pb2.Viewer:
    return types_pb2.Viewer(viewer_id=account.username, scope_unit_id=account.scope_unit_id)
