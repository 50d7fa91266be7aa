"""Transactional outbox: ``enqueue`` inside the caller's transaction; ``OutboxRelay``
publishes committed rows with ``Nats-Msg-Id`` and deletes them, so a fact written to
PostgreSQL reaches the stream even when NATS was down at the time.

The relay is woken by the commits of its own process (``UnitOfWork`` calls ``notify`` after
a commit that enqueued something) and otherwise only looks every ``idle_poll_s`` (a
backstop for rows left by a crashed or stopped instance). A batch is published with async
acks (nats-py ``publish_async``: every message sent at once, the acks awaited together) and
the published rows are deleted in one statement."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import asyncpg
from google.protobuf.message import Message
from nats.js import JetStreamContext

from pulse_common.db import Connection
from pulse_common.messaging import CONTENT_TYPE

log = logging.getLogger(__name__)


async def enqueue(conn: Connection, subject: str, event: Message, *, msg_id: str) -> None:
    """Record an event to publish; must run inside the transaction that writes the fact.
    A second enqueue of the same ``msg_id`` is ignored (idempotent writers)."""
    await conn.execute(
        "INSERT INTO outbox (msg_id, subject, payload, headers) VALUES ($1, $2, $3, $4::jsonb)"
        " ON CONFLICT (msg_id) DO NOTHING",
        msg_id,
        subject,
        event.SerializeToString(),
        json.dumps({"Pulse-Type": event.DESCRIPTOR.full_name}),
    )


async def pending_count(conn: Connection | asyncpg.Pool) -> int:
    value = await conn.fetchval("SELECT count(*) FROM outbox")
    return int(value)


class OutboxRelay:
    """Publishes outbox rows in commit order (by sequence: a batch is written to the one
    NATS connection in that order). Rows are locked with ``SKIP LOCKED`` so several
    instances can relay at once without publishing a row twice concurrently; a crash between
    publish and delete re-publishes the row, which JetStream drops as a duplicate inside the
    window and consumers' ledgers drop after it."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        js: JetStreamContext,
        *,
        batch: int = 200,
        idle_poll_s: float = 5.0,
        max_backoff_s: float = 5.0,
        ack_timeout_s: float = 2.0,
    ) -> None:
        self.pool = pool
        self.js = js
        self.batch = batch
        self.idle_poll_s = idle_poll_s
        self.max_backoff_s = max_backoff_s
        self.ack_timeout_s = ack_timeout_s
        self.published = 0
        self.batches = 0  # relay_once calls that published something (for benchmarks)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def notify(self) -> None:
        """Called after a commit that enqueued something: publish without waiting to poll."""
        self._wake.set()

    async def relay_once(self) -> int:
        """Publish up to one batch; returns how many rows were published. Raises when no
        row of the batch could be published (NATS down) so the caller backs off."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT seq, msg_id, subject, payload, headers FROM outbox"
                " ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
                self.batch,
            )
            if not rows:
                return 0
            outcomes = await self._publish_batch(rows)
            done = [row["seq"] for row, error in zip(rows, outcomes, strict=True) if error is None]
            failed = [
                (row["seq"], str(error)[:500] or type(error).__name__)
                for row, error in zip(rows, outcomes, strict=True)
                if error is not None
            ]
            if done:
                await conn.execute("DELETE FROM outbox WHERE seq = ANY($1::bigint[])", done)
            if failed:  # NATS down or slow: keep the rows, retry later
                await conn.executemany(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE seq = $1",
                    failed,
                )
        self.published += len(done)
        self.batches += 1 if done else 0
        if failed and not done:
            first = next(error for error in outcomes if error is not None)
            raise first
        return len(done)

    async def _publish_batch(self, rows: list[asyncpg.Record]) -> list[BaseException | None]:
        """Send every row, then await the acks together; per row None (stored or a
        duplicate JetStream already holds) or the error."""
        futures: list[asyncio.Future[Any] | BaseException] = []
        for row in rows:
            headers = {
                "Nats-Msg-Id": row["msg_id"],
                "Content-Type": CONTENT_TYPE,
                **json.loads(row["headers"]),
            }
            try:
                future = await self.js.publish_async(
                    row["subject"],
                    bytes(row["payload"]),
                    wait_stall=self.ack_timeout_s,
                    headers=headers,
                )
            except Exception as error:  # connection closed, too many in flight
                futures.append(error)
                continue
            futures.append(future)

        async def ack(item: asyncio.Future[Any] | BaseException) -> BaseException | None:
            if isinstance(item, BaseException):
                return item
            try:
                await asyncio.wait_for(item, timeout=self.ack_timeout_s)
            except Exception as error:
                return error
            return None

        return list(await asyncio.gather(*(ack(item) for item in futures)))

    async def run(self) -> None:
        backoff = 0.1
        while not self._stopping.is_set():
            # Cleared before reading, so a commit that lands while a batch is published
            # wakes the next round instead of being lost.
            self._wake.clear()
            try:
                published = await self.relay_once()
                backoff = 0.1
            except Exception as error:
                log.warning("outbox relay cannot publish yet: %s", error or type(error).__name__)
                await self._sleep(backoff)
                backoff = min(self.max_backoff_s, backoff * 2)
                continue
            if published < self.batch:
                await self._sleep(self.idle_poll_s)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
