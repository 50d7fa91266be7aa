"""Server-side leader sessions. The browser's cookie (signed with the real session secret)
holds only a random session id; what the session may do lives here, so sign-out revokes it
for good (a copied cookie is worth nothing afterwards), and a session ends after
``max_age_s`` whatever happens, or after ``idle_s`` without a request.

Each session keeps the leader's caller token (``pulse_common.auth``), signed by the web's
credential at sign-in with the role ``leader`` and the account's scope, and re-signed
before it expires while the session lives. Sessions are per web instance (a restart signs
everybody out; several instances need sticky sessions)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pulse_common.auth import TokenSource

MAX_SESSIONS = 10_000


@dataclass
class LeaderSession:
    username: str
    tokens: TokenSource
    created: float
    last_seen: float


@dataclass
class SessionStore:
    max_age_s: float
    idle_s: float
    clock: Callable[[], float] = time.monotonic
    max_sessions: int = MAX_SESSIONS
    _sessions: dict[str, LeaderSession] = field(default_factory=dict)

    def create(self, username: str, tokens: TokenSource) -> str:
        """A new session (its token is signed now); returns its id for the cookie."""
        tokens.token()
        now = self.clock()
        sid = secrets.token_urlsafe(32)
        self._sessions[sid] = LeaderSession(username, tokens, now, now)
        while len(self._sessions) > self.max_sessions:
            del self._sessions[next(iter(self._sessions))]  # the oldest
        return sid

    def get(self, sid: object) -> LeaderSession | None:
        if not isinstance(sid, str):
            return None
        session = self._sessions.get(sid)
        if session is None:
            return None
        now = self.clock()
        if now - session.created > self.max_age_s or now - session.last_seen > self.idle_s:
            del self._sessions[sid]
            return None
        session.last_seen = now
        return session

    def revoke(self, sid: object) -> None:
        if isinstance(sid, str):
            self._sessions.pop(sid, None)

    def __len__(self) -> int:
        return len(self._sessions)
