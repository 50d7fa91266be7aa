"""What every use case needs: the pool, settings, a clock and the outbox relay's bell."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import asyncpg
from pulse_common.config import Settings
from pulse_common.db import Connection

from pulse_survey.sampling import SamplingPolicy


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    pool: asyncpg.Pool
    settings: Settings
    # Called after a commit that enqueued events so the relay publishes at once.
    notify: Callable[[], None]
    clock: Callable[[], datetime] = field(default=_utc_now)
    # Share of customer interactions invited, per channel (PULSE_SAMPLING).
    sampling: SamplingPolicy = field(default_factory=SamplingPolicy)

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.clock().astimezone(UTC).date()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        async with self.pool.acquire() as conn:
            yield conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One connection inside one transaction: every write use case runs in one."""
        async with self.connection() as conn, conn.transaction():
            yield conn
