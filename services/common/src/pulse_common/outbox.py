"""Transactional outbox: ``enqueue`` inside the caller's transaction; ``OutboxRelay``
publishes committed rows with ``Nats-Msg-Id`` and deletes them, so a fact written to
PostgreSQL reaches the stream even when NATS was down at the time.

The relay is woken by the commits of its own process (``UnitOfWork`` calls ``notify`` after
a commit that enqueued something) and otherwise only looks every ``idle_poll_s`` (a
backstop for rows left by a crashed or stopped instance). A batch is published with async
acks (every message sent at once, the JetStream acks received on the relay's own inbox and
awaited together) and the published rows are deleted in one statement."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Sequence

import asyncpg
import nats.js.errors
from google.protobuf.message import Message
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from pulse_common.db import Connection
from pulse_common.messaging import CONTENT_TYPE

log = logging.getLogger(__name__)

NATS_STATUS = "Status"
NO_RESPONDERS = "503"  # no stream takes the subject


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


async def enqueue_many(
    conn: Connection, subject: str, events: Sequence[tuple[str, Message]]
) -> None:
    """``enqueue`` of several events ((msg id, event)) of one subject in one statement."""
    if not events:
        return
    await conn.execute(
        "INSERT INTO outbox (msg_id, subject, payload, headers)"
        " SELECT id, $2, payload, headers::jsonb"
        " FROM unnest($1::text[], $3::bytea[], $4::text[]) AS t(id, payload, headers)"
        " ON CONFLICT (msg_id) DO NOTHING",
        [msg_id for msg_id, _ in events],
        subject,
        [event.SerializeToString() for _, event in events],
        [json.dumps({"Pulse-Type": event.DESCRIPTOR.full_name}) for _, event in events],
    )


async def pending_count(conn: Connection | asyncpg.Pool) -> int:
    value = await conn.fetchval("SELECT count(*) FROM outbox")
    return int(value)


@functools.lru_cache(maxsize=64)
def _parsed_headers(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(json.loads(text).items())


def _headers(text: str) -> dict[str, str]:
    """An outbox row's headers (a few distinct values: parsed once each)."""
    return dict(_parsed_headers(text))


def _outcome(item: asyncio.Future[None] | BaseException) -> BaseException | None:
    if isinstance(item, BaseException):
        return item
    if item.cancelled():
        return TimeoutError("no publish ack in time")
    return item.exception()


class _AckInbox:
    """JetStream publish acks for one relay: one wildcard inbox subscription (nats-py
    subscribes it again after a reconnect) and a future per message in flight."""

    def __init__(self, nc: NatsClient) -> None:
        self._nc = nc
        self._prefix = ""
        self._sent = 0
        self._waiting: dict[str, asyncio.Future[None]] = {}

    async def open(self) -> None:
        self._prefix = self._nc.new_inbox()
        await self._nc.subscribe(f"{self._prefix}.*", cb=self._on_ack)

    async def publish(
        self, subject: str, payload: bytes, headers: dict[str, str]
    ) -> asyncio.Future[None]:
        self._sent += 1
        reply = f"{self._prefix}.{self._sent}"
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[reply] = future
        try:
            await self._nc.publish(subject, payload, reply=reply, headers=headers)
        except BaseException:
            del self._waiting[reply]
            raise
        return future

    def forget(self, futures: list[asyncio.Future[None]]) -> None:
        """Drop what is still waiting after a batch (acks that did not come in time)."""
        if self._waiting:
            done = set(map(id, futures))
            self._waiting = {k: f for k, f in self._waiting.items() if id(f) not in done}

    async def _on_ack(self, msg: Msg) -> None:
        future = self._waiting.pop(msg.subject, None)
        if future is None or future.done():
            return
        if msg.headers and msg.headers.get(NATS_STATUS) == NO_RESPONDERS:
            future.set_exception(nats.js.errors.NoStreamResponseError())
            return
        try:
            reply = json.loads(msg.data)
        except ValueError:
            future.set_exception(nats.js.errors.Error(f"unreadable publish ack {msg.data!r}"))
            return
        if isinstance(reply, dict) and "error" in reply:
            future.set_exception(nats.js.errors.APIError.from_error(reply["error"]))
            return
        future.set_result(None)


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
        self._acks: _AckInbox | None = None

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
                # Not waiting for this commit's WAL flush is safe: a delete lost in a crash
                # only re-publishes its rows, which JetStream (Nats-Msg-Id) and the
                # consumers' ledgers drop, as after a crash between publish and delete.
                await conn.execute("SET LOCAL synchronous_commit = off")
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
        duplicate JetStream already holds) or the error. The acks come back to the relay's
        own inbox (``_AckInbox``: what nats-py's ``publish_async`` does, without its
        per-message slot wait, which yields to the loop and so wrote every message to the
        socket on its own: most of the relay's cost, issue 20)."""
        acks = await self._ack_inbox()
        outcomes: list[asyncio.Future[None] | BaseException] = []
        for row in rows:
            headers = {
                "Nats-Msg-Id": row["msg_id"],
                "Content-Type": CONTENT_TYPE,
                **_headers(row["headers"]),
            }
            try:
                outcomes.append(await acks.publish(row["subject"], bytes(row["payload"]), headers))
            except Exception as error:  # connection closed
                outcomes.append(error)
        futures = [item for item in outcomes if isinstance(item, asyncio.Future)]
        if futures:
            _, late = await asyncio.wait(futures, timeout=self.ack_timeout_s)
            for future in late:
                future.cancel()
            acks.forget(futures)
        return [_outcome(item) for item in outcomes]

    async def _ack_inbox(self) -> _AckInbox:
        if self._acks is None:
            acks = _AckInbox(self.js._nc)
            await acks.open()  # kept only once subscribed (NATS may be down: retried)
            self._acks = acks
        return self._acks

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
