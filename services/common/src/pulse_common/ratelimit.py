"""Requests per client in a sliding window, in memory, the one rate limiter of Pulse. It is
per process (N instances behind a load balancer allow up to N times the limit); a shared
limiter (e.g. at the ingress) is the scale-out answer. Memory is bounded by ``max_clients``."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SlidingWindowLimiter:
    def __init__(
        self,
        limit: int,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 100_000,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self.max_clients = max_clients
        self._hits: dict[str, deque[float]] = {}

    def allow(self, client_id: str) -> bool:
        """Record one attempt for ``client_id``; False when it is over the limit (a refused
        attempt is not recorded, so a client that waits gets through)."""
        now = self.clock()
        horizon = now - self.window_s
        hits = self._hits.get(client_id)
        if hits is None:
            if len(self._hits) >= self.max_clients:
                self._prune(horizon)
            hits = self._hits.setdefault(client_id, deque())
        while hits and hits[0] <= horizon:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def _prune(self, horizon: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= horizon]:
            del self._hits[key]
        if len(self._hits) >= self.max_clients:  # still full: forget the oldest half
            for key in list(self._hits)[: self.max_clients // 2]:
                del self._hits[key]
