"""What every use case needs: the pool, settings, a clock, the outbox relay's bell and the
in-memory caches of the dated org and the published customer surveys."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import asyncpg
from pulse_common.config import Settings
from pulse_common.db import Connection

from pulse_survey.caches import Caches
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
    # Invalidated by the use cases that change what they hold (after their commit).
    caches: Caches = field(default_factory=Caches)

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


class HeldConnection:
    """One pooled connection kept across the messages of one consumer loop. A loop handles
    one message at a time, and giving the connection back to the pool after each would
    cost a reset round trip (and the acquire) per message. ``close`` (at shutdown) gives it
    back; a broken connection, or one a failed transaction left unclean, goes back to the
    pool (which resets or discards it) and the next message takes a fresh one."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._conn: asyncpg.pool.PoolConnectionProxy | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        conn = self._conn
        if conn is None or conn.is_closed():
            await self.close()
            conn = self._conn = await self.pool.acquire()
        try:
            async with conn.transaction():
                yield conn
        except BaseException:
            if conn.is_closed() or conn.is_in_transaction():
                await self.close()
            raise

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await self.pool.release(conn)
