"""What every use case needs: the pool, settings, a clock and the outbox relay's bell."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import cast

import asyncpg
from pulse_common.config import Settings


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    pool: asyncpg.Pool
    settings: Settings
    # Called after a commit that enqueued events so the relay publishes at once.
    notify: Callable[[], None]
    clock: Callable[[], datetime] = field(default=_utc_now)
    # Share of customer interactions invited (PULSE_CUSTOMER_SAMPLE_RATE).
    sample_rate: float = 1.0

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.clock().astimezone(UTC).date()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        # The pool hands out a proxy that forwards to a Connection; pulse_common's helpers
        # are typed for Connection, so the one cast lives here.
        async with self.pool.acquire() as proxy:
            yield cast(asyncpg.Connection, proxy)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """One connection inside one transaction: every write use case runs in one."""
        async with self.connection() as conn, conn.transaction():
            yield conn
