"""Viewer scope (DESIGN §3: leadership sees only its own subtree), the one home for it.

The org tree belongs to the survey service, so a scope's subtree (the scope unit and
everything under it, as the org stands today) is fetched from it. ``ScopeCache`` keeps it in
memory per scope for a configured number of seconds: an org change reaches scope checks
within that time. Concurrent misses for one scope share a single call. An unknown scope, or a
failed call, is never cached; a failed call refuses the request (fail closed) rather than
showing more than the viewer may see. ``subtree_ids`` computes a subtree from parent links."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable

from pulse_common import errors

# Subtree of a scope, or None when the survey service does not know the scope unit.
Fetch = Callable[[str], Awaitable[frozenset[str] | None]]

MAX_SCOPES = 1024


def outside_scope(unit_id: str, scope_unit_id: str) -> errors.PermissionDenied:
    return errors.PermissionDenied(f"unit {unit_id} is outside your scope {scope_unit_id}")


class ScopeCache:
    def __init__(
        self,
        fetch: Fetch,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_scopes: int = MAX_SCOPES,
    ) -> None:
        self._fetch = fetch
        self._ttl_s = ttl_s
        self._clock = clock
        self._max_scopes = max_scopes
        self._entries: dict[str, tuple[float, frozenset[str]]] = {}
        self._inflight: dict[str, asyncio.Future[frozenset[str] | None]] = {}

    async def subtree(self, scope_unit_id: str) -> frozenset[str]:
        """Unit ids the scope covers (itself included); PERMISSION_DENIED when the scope
        unit does not exist."""
        hit = self._entries.get(scope_unit_id)
        if hit is not None and self._clock() - hit[0] < self._ttl_s:
            return hit[1]
        pending = self._inflight.get(scope_unit_id)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch(scope_unit_id))
            self._inflight[scope_unit_id] = pending
            pending.add_done_callback(lambda done: self._forget(scope_unit_id, done))
        # Shielded: one caller giving up (deadline, cancel) must not cancel the others.
        units = await asyncio.shield(pending)
        if units is None:
            raise errors.PermissionDenied(
                f"your scope {scope_unit_id} is not a unit of the organisation"
            )
        if self._ttl_s > 0:
            self._store(scope_unit_id, units)
        return units

    def _forget(self, scope_unit_id: str, done: asyncio.Future[frozenset[str] | None]) -> None:
        if self._inflight.get(scope_unit_id) is done:
            del self._inflight[scope_unit_id]
        if not done.cancelled():
            done.exception()  # retrieved here so an error nobody awaited is not logged twice

    def _store(self, scope_unit_id: str, units: frozenset[str]) -> None:
        self._entries.pop(scope_unit_id, None)
        self._entries[scope_unit_id] = (self._clock(), units)
        while len(self._entries) > self._max_scopes:
            # Insertion order = age: drop the oldest.
            del self._entries[next(iter(self._entries))]


def subtree_ids(root: str, edges: Iterable[tuple[str, str]]) -> frozenset[str]:
    """Ids under ``root`` (inclusive) from (unit_id, parent_id) pairs; "" = every unit."""
    pairs = list(edges)
    if not root:
        return frozenset(unit for unit, _ in pairs)
    children: dict[str, list[str]] = {}
    for unit, parent in pairs:
        children.setdefault(parent, []).append(unit)
    found = {root}
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return frozenset(found)
