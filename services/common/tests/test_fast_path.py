"""The fast path of the messaging plumbing (issue 20) against real PostgreSQL and NATS: the
relay is woken by commits (not by polling) and publishes a batch with async acks, still
once per message id; a consumer's batch handler commits a fetched batch in one transaction
and falls back to one message at a time (retries, dead letters) when the batch fails."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable

import asyncpg
import nats
import pytest
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from pulse.events.v1 import events_pb2
from pulse_common import subjects
from pulse_common.db import Connection, apply_migrations, create_pool, load_migrations
from pulse_common.ledger import (
    claim_message,
    claim_messages,
    purge_processed,
    retention_days,
)
from pulse_common.messaging import (
    ConsumerLoop,
    ConsumerSpec,
    RetryBatchLater,
    connect_nats,
    decode,
    ensure_stream,
    message_id,
    publish,
    publish_event,
)
from pulse_common.outbox import OutboxRelay, enqueue, pending_count


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await connect_nats(nats_url, "test")
    context = nc.jetstream()
    await ensure_stream(context)
    yield context
    await nc.close()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await create_pool(database_url, "fastpath")
    await apply_migrations(created, "fastpath", load_migrations("pulse_common"))
    yield created
    await created.close()


async def stream_ids(js: JetStreamContext, subject: str) -> list[str]:
    """Nats-Msg-Id of every message on ``subject`` (an ephemeral read from the start)."""
    sub = await js.pull_subscribe(
        subject, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, inactive_threshold=5)
    )
    found: list[str] = []
    while True:
        try:
            batch = await sub.fetch(500, timeout=0.5)
        except (TimeoutError, nats.errors.TimeoutError):
            break
        found += [message_id(m) for m in batch]
    await sub.unsubscribe()
    return found


async def enqueue_many(pool: asyncpg.Pool, ids: list[str]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        for msg_id in ids:
            event = events_pb2.ResponseRecorded(response_id=msg_id)
            await enqueue(conn, subjects.RESPONSE_RECORDED, event, msg_id=msg_id)


async def run_until(loop: ConsumerLoop, done: Callable[[], bool]) -> None:
    """Run ``loop`` until ``done()`` (at most 20 s), then stop it."""
    task = asyncio.create_task(loop.run())
    try:
        async with asyncio.timeout(20):
            while not done():
                await asyncio.sleep(0.05)
    finally:
        loop.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_relay_is_woken_by_commits_and_publishes_batches_once(
    pool: asyncpg.Pool, js: JetStreamContext
) -> None:
    # An idle relay that would only poll once a minute: whatever it publishes within the
    # test was woken by notify().
    relay = OutboxRelay(pool, js, batch=200, idle_poll_s=60.0)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.3)  # the first (empty) round is over; the relay now waits
        ids = [f"fp-{uuid.uuid4()}" for _ in range(450)]
        await enqueue_many(pool, ids)
        await asyncio.sleep(0.5)
        assert await pending_count(pool) == len(ids)  # not polled: nothing moved
        relay.notify()
        async with asyncio.timeout(10):
            while await pending_count(pool) > 0:
                await asyncio.sleep(0.02)
        assert relay.published == len(ids)
        assert relay.batches == 3  # 200 + 200 + 50, not one round per row
        # A relay that crashed after publishing re-publishes: JetStream drops the repeats.
        await enqueue_many(pool, ids[:20])
        relay.notify()
        async with asyncio.timeout(10):
            while await pending_count(pool) > 0:
                await asyncio.sleep(0.02)
    finally:
        relay.stop()
        await task
    published = await stream_ids(js, subjects.RESPONSE_RECORDED)
    assert sorted(published) == sorted(ids)


async def test_relay_keeps_rows_no_stream_takes(pool: asyncpg.Pool, js: JetStreamContext) -> None:
    """A row whose subject no stream takes is kept, its attempt and error recorded, while
    the rows of its batch that were stored are deleted."""
    good, lost = f"fp-{uuid.uuid4()}", f"fp-{uuid.uuid4()}"
    async with pool.acquire() as conn, conn.transaction():
        event = events_pb2.ResponseRecorded(response_id=good)
        await enqueue(conn, subjects.RESPONSE_RECORDED, event, msg_id=good)
        await enqueue(conn, "nostream.test", event, msg_id=lost)
    relay = OutboxRelay(pool, js, ack_timeout_s=2.0)
    assert await relay.relay_once() == 1
    left = await pool.fetch("SELECT msg_id, attempts, last_error FROM outbox")
    assert [(r["msg_id"], r["attempts"]) for r in left] == [(lost, 1)]
    assert left[0]["last_error"]
    await pool.execute("DELETE FROM outbox")
    assert good in await stream_ids(js, subjects.RESPONSE_RECORDED)


async def test_claim_messages_claims_each_id_once(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        assert await claim_messages(conn, ["b", "a", "b", "c"], "s") == {"a", "b", "c"}
        assert await claim_messages(conn, ["c", "d"], "s") == {"d"}
        assert not await claim_message(conn, "a", "s")


async def test_batch_handler_commits_a_batch_and_falls_back_to_one_by_one(
    pool: asyncpg.Pool, js: JetStreamContext
) -> None:
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE effects (wave_id text NOT NULL)")

    async def apply(conn: Connection, msgs: list[Msg]) -> None:
        events = [decode(m, events_pb2.WaveClosed) for m in msgs]  # poison raises here
        fresh = await claim_messages(conn, [message_id(m) for m in msgs], subjects.WAVE_CLOSED)
        for msg, event in zip(msgs, events, strict=True):
            if message_id(msg) in fresh:
                fresh.discard(message_id(msg))
                await conn.execute("INSERT INTO effects VALUES ($1)", event.wave_id)

    async def one(msg: Msg) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await apply(conn, [msg])

    async def batch(msgs: list[Msg]) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await apply(conn, msgs)

    spec = ConsumerSpec("fast-batch", (subjects.WAVE_CLOSED,), batch=50, fetch_timeout_s=0.2)
    good = [f"w{i}" for i in range(120)]
    for wave in good[:100]:
        await publish_event(
            js, subjects.WAVE_CLOSED, events_pb2.WaveClosed(wave_id=wave), msg_id=f"id-{wave}"
        )
    # A redelivered-looking repeat under a new stream sequence (replay of the same id).
    await publish(
        js,
        subjects.WAVE_CLOSED,
        events_pb2.WaveClosed(wave_id=good[0]).SerializeToString(),
        msg_id="replay-1",
        headers={"Pulse-Replay-Of": f"id-{good[0]}"},
    )
    await publish(js, subjects.WAVE_CLOSED, b"\xff\xff\xff", msg_id="poison")
    for wave in good[100:]:
        await publish_event(
            js, subjects.WAVE_CLOSED, events_pb2.WaveClosed(wave_id=wave), msg_id=f"id-{wave}"
        )
    loop = ConsumerLoop(js, spec, one, batch)
    await run_until(loop, lambda: loop.handled + loop.dead_lettered >= len(good) + 2)
    async with pool.acquire() as conn:
        applied = [r["wave_id"] for r in await conn.fetch("SELECT wave_id FROM effects")]
    assert sorted(applied) == sorted(good)  # every good message once, the replay not again
    assert loop.dead_lettered == 1  # the poison, dead-lettered by the one-by-one path
    assert loop.batches_committed >= 1  # batches without the poison went in whole


async def test_a_batch_waiting_for_what_it_needs_is_retried_whole(js: JetStreamContext) -> None:
    """``RetryBatchLater``: the batch is naked and comes back, not tried message by message
    (each would fail the same way); a batch that comes back and still cannot be handled is
    then handled one by one, so per-message retries and dead letters still apply."""
    subject = f"pulse.test.later.{uuid.uuid4().hex}"
    attempts: list[list[str]] = []
    alone: list[str] = []
    allow_after = 1  # the first batch waits (a survey still on its way), the next goes in

    async def one(msg: Msg) -> None:
        alone.append(message_id(msg))

    async def batch(msgs: list[Msg]) -> None:
        attempts.append([message_id(m) for m in msgs])
        if len(attempts) <= allow_after:
            raise RetryBatchLater("survey s v1 not received yet")

    ids = [f"later-{i}" for i in range(20)]
    for msg_id in ids:
        await publish(js, subject, b"x", msg_id=msg_id)
    spec = ConsumerSpec("fast-later", (subject,), batch=50, fetch_timeout_s=0.2)
    loop = ConsumerLoop(js, spec, one, batch)
    await run_until(loop, lambda: loop.handled >= len(ids))
    assert sorted(attempts[0]) == sorted(ids)  # fetched together, deferred together
    assert loop.batches_deferred == 1
    assert not alone  # nobody was tried alone
    assert sorted(i for a in attempts[1:] for i in a) == sorted(ids)  # then in batches


async def test_a_deferred_batch_that_still_waits_goes_one_by_one(js: JetStreamContext) -> None:
    subject = f"pulse.test.later.{uuid.uuid4().hex}"
    alone: list[str] = []

    async def one(msg: Msg) -> None:
        alone.append(message_id(msg))

    async def batch(msgs: list[Msg]) -> None:
        raise RetryBatchLater("survey s v1 not received yet")

    ids = [f"wait-{i}" for i in range(10)]
    for msg_id in ids:
        await publish(js, subject, b"x", msg_id=msg_id)
    spec = ConsumerSpec("fast-still", (subject,), batch=50, fetch_timeout_s=0.2)
    loop = ConsumerLoop(js, spec, one, batch)
    await run_until(loop, lambda: loop.handled >= len(ids))
    assert loop.batches_deferred >= 1
    assert loop.batch_fallbacks >= 1
    assert sorted(alone) == sorted(ids)  # handled one by one after coming back


def test_ledger_retention_follows_the_stream() -> None:
    assert retention_days(0, 900) is None  # the stream keeps everything: so does the ledger
    assert retention_days(7 * 86_400, 900) == 9  # a week + the window, rounded up, + a day
    assert retention_days(86_400 - 900, 900) == 2


async def test_purge_drops_only_rows_past_retention(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await claim_messages(conn, ["old", "edge", "new"], "s")
        await conn.execute(
            "UPDATE processed_messages SET processed_on = current_date - 10 WHERE msg_id = 'old'"
        )
        await conn.execute(
            "UPDATE processed_messages SET processed_on = current_date - 9 WHERE msg_id = 'edge'"
        )
        assert await purge_processed(conn, 9) == 1
        left = {r["msg_id"] for r in await conn.fetch("SELECT msg_id FROM processed_messages")}
        assert left == {"edge", "new"}
        assert not await claim_message(conn, "edge", "s")  # still deduplicated
