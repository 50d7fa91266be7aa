"""The Unit of Work (cosmicpython's pattern), used by every service: one pooled connection,
one transaction, events enqueued to the transactional outbox inside it, and the relay woken
after the commit so they are published at once.

    async with database.unit_of_work() as uow:
        await repository.save(uow.conn, ...)
        await uow.enqueue(subjects.RESPONSE_RECORDED, event, msg_id=...)
    # committed here; the relay was notified

A connection is acquired per unit of work (never held across messages), so a PostgreSQL
restart costs the units of work in flight, not every later one. Losing the connection is
reported as ``errors.Unavailable`` (the caller may retry), never as an internal error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import cast

import asyncpg
from google.protobuf.message import Message

from pulse_common import errors, outbox

# Errors that mean "the database went away", not "this request is wrong".
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
    # The server ended the session while the connection was idle (terminate, restart): the
    # protocol is left mid-message and the next query fails with this.
    asyncpg.exceptions.InternalClientError,
    ConnectionError,
    OSError,
)
DATABASE_UNAVAILABLE = "the database is unavailable; try again"


# The database is up but could not do it now: a lock wait or a statement ran out of time
# (PULSE_DB_LOCK_TIMEOUT_MS / PULSE_DB_STATEMENT_TIMEOUT_MS), a deadlock or a serialization
# conflict was resolved by aborting this transaction. The same request may succeed later.
BUSY_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.LockNotAvailableError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
)
DATABASE_BUSY = "the database is busy; try again"
DATABASE_TOO_SLOW = "the database did not answer in time; try again or narrow the request"


def is_connection_error(error: BaseException) -> bool:
    return isinstance(error, CONNECTION_ERRORS) and not isinstance(error, asyncio.CancelledError)


def as_retryable(error: BaseException) -> errors.RetryableError | None:
    """The retryable domain error a database failure stands for, or None (a bug or a bad
    request: the caller's own error stands)."""
    if is_connection_error(error):
        return errors.Unavailable(DATABASE_UNAVAILABLE)
    if isinstance(error, BUSY_ERRORS):
        return errors.Unavailable(DATABASE_BUSY)
    if isinstance(error, asyncpg.exceptions.QueryCanceledError):
        return errors.DeadlineExceeded(DATABASE_TOO_SLOW)
    return None


class UnitOfWork:
    """One transaction; use through ``Database.unit_of_work()``."""

    def __init__(self, pool: asyncpg.Pool, on_commit: Callable[[], None]) -> None:
        self._pool = pool
        self._on_commit = on_commit
        self._proxy: asyncpg.pool.PoolConnectionProxy | None = None
        self._transaction: asyncpg.transaction.Transaction | None = None
        self.enqueued = 0

    @property
    def conn(self) -> asyncpg.Connection:
        if self._proxy is None:
            raise RuntimeError("the unit of work is not open")
        return cast(asyncpg.Connection, self._proxy)

    async def enqueue(self, subject: str, event: Message, *, msg_id: str) -> None:
        """Publish ``event`` after the commit, exactly once (``msg_id`` deduplicates)."""
        await outbox.enqueue(self.conn, subject, event, msg_id=msg_id)
        self.enqueued += 1

    async def __aenter__(self) -> UnitOfWork:
        try:
            self._proxy = await self._pool.acquire()
            self._transaction = self._proxy.transaction()
            await self._transaction.start()
        except BaseException as error:
            await self._release()
            if (mapped := as_retryable(error)) is not None:
                raise mapped from error
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        transaction, self._transaction = self._transaction, None
        try:
            if transaction is not None:
                if exc is None:
                    await transaction.commit()
                else:
                    await transaction.rollback()
        except BaseException as error:
            await self._release()
            if exc is None and (mapped := as_retryable(error)) is not None:
                raise mapped from error
            if exc is None:
                raise
        else:
            await self._release()
            if exc is None and self.enqueued:
                self._on_commit()
        if exc is not None and (mapped := as_retryable(exc)) is not None:
            raise mapped from exc

    async def _release(self) -> None:
        proxy, self._proxy = self._proxy, None
        if proxy is not None:
            await release_quietly(self._pool, proxy)


async def release_quietly(pool: asyncpg.Pool, proxy: asyncpg.pool.PoolConnectionProxy) -> None:
    """Return a connection to the pool. When the server ended the session, the reset that
    ``release`` runs fails and asyncpg discards the connection: that is the pool's business,
    never the caller's (their work committed, or already failed with its own error)."""
    try:
        await pool.release(proxy)
    except Exception as error:
        if not is_connection_error(error):
            raise


def _nothing() -> None:
    return None


@dataclass
class Database:
    """A service's pool and the outbox relay's bell: where units of work come from."""

    pool: asyncpg.Pool
    notify: Callable[[], None] = field(default=_nothing)

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.pool, self.notify)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection without a transaction, for reads."""
        try:
            proxy = await self.pool.acquire()
        except BaseException as error:
            if (mapped := as_retryable(error)) is not None:
                raise mapped from error
            raise
        try:
            yield cast(asyncpg.Connection, proxy)
        except BaseException as error:
            if (mapped := as_retryable(error)) is not None:
                raise mapped from error
            raise
        finally:
            await release_quietly(self.pool, proxy)
