"""Transactional outbox: ``enqueue`` inside the caller's transaction; ``OutboxRelay``
publishes committed rows with ``Nats-Msg-Id`` and deletes them, so a fact written to
PostgreSQL reaches the stream even when NATS was down at the time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import asyncpg
from google.protobuf.message import Message
from nats.js import JetStreamContext

from pulse_common.db import Connection
from pulse_common.messaging import publish

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
    """Publishes outbox rows in commit order (by sequence). Rows are locked with
    ``SKIP LOCKED`` so several instances can relay at once without publishing a row twice
    concurrently; a crash between publish and delete re-publishes the row, which JetStream
    drops as a duplicate inside the window and consumers' ledgers drop after it."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        js: JetStreamContext,
        *,
        batch: int = 200,
        idle_poll_s: float = 0.25,
        max_backoff_s: float = 5.0,
    ) -> None:
        self.pool = pool
        self.js = js
        self.batch = batch
        self.idle_poll_s = idle_poll_s
        self.max_backoff_s = max_backoff_s
        self.published = 0
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def notify(self) -> None:
        """Called after a commit that enqueued something: publish without waiting to poll."""
        self._wake.set()

    async def relay_once(self) -> int:
        """Publish up to one batch; returns how many rows were published. Raises when the
        first publish fails (NATS down) so the caller backs off."""
        done = 0
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT seq, msg_id, subject, payload, headers FROM outbox"
                " ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
                self.batch,
            )
            failure: Exception | None = None
            for row in rows:
                try:
                    await publish(
                        self.js,
                        row["subject"],
                        bytes(row["payload"]),
                        msg_id=row["msg_id"],
                        headers=json.loads(row["headers"]),
                        timeout_s=2.0,
                    )
                except Exception as error:  # NATS down or slow: keep the row, retry later
                    failure = error
                    await conn.execute(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE seq = $1",
                        row["seq"],
                        str(error)[:500] or type(error).__name__,
                    )
                    break
                await conn.execute("DELETE FROM outbox WHERE seq = $1", row["seq"])
                done += 1
        self.published += done
        if failure is not None and done == 0:
            raise failure
        return done

    async def run(self) -> None:
        backoff = 0.1
        while not self._stopping.is_set():
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
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
