"""JetStream plumbing against a real nats-server: publish de-duplication, the consumer's
dead-letter path, and the outbox relay surviving a NATS outage."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from pulse.events.v1 import events_pb2
from pulse_common import subjects
from pulse_common.db import apply_migrations, create_pool, load_migrations
from pulse_common.embedded import EmbeddedNats
from pulse_common.messaging import (
    ConsumerLoop,
    ConsumerSpec,
    connect_nats,
    decode,
    ensure_stream,
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


async def read_subject(js: JetStreamContext, subject: str, expected: int) -> list[Msg]:
    """Every message on ``subject`` (an ephemeral ordered read from the start)."""
    sub = await js.pull_subscribe(
        subject, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, inactive_threshold=5)
    )
    messages: list[Msg] = []
    deadline = asyncio.get_running_loop().time() + 10
    while len(messages) < expected and asyncio.get_running_loop().time() < deadline:
        try:
            batch = await sub.fetch(100, timeout=0.5)
        except (TimeoutError, nats.errors.TimeoutError):  # nats-py raises either
            continue
        for msg in batch:
            await msg.ack()
        messages.extend(batch)
    # Anything beyond the expected count would show up within a short extra wait.
    with contextlib.suppress(TimeoutError, nats.errors.TimeoutError):
        messages.extend(await sub.fetch(100, timeout=0.5))
    await sub.unsubscribe()
    return messages


async def test_publish_with_same_msg_id_is_stored_once(js: JetStreamContext) -> None:
    assert await publish(js, "pulse.test.dedup", b"a", msg_id="same") is True
    assert await publish(js, "pulse.test.dedup", b"a", msg_id="same") is False
    info = await js.stream_info(subjects.STREAM)
    assert info.config.duplicate_window == subjects.DUPLICATE_WINDOW_S
    assert len(await read_subject(js, "pulse.test.dedup", 1)) == 1


async def test_failing_handler_dead_letters_and_consumer_goes_on(js: JetStreamContext) -> None:
    handled: list[str] = []
    attempts: dict[str, int] = {}

    async def handler(msg: Msg) -> None:
        event = decode(msg, events_pb2.WaveClosed)
        attempts[event.wave_id] = attempts.get(event.wave_id, 0) + 1
        if event.wave_id == "poison":
            raise RuntimeError("handler always fails for this one")
        handled.append(event.wave_id)

    spec = ConsumerSpec(
        "test-dlq", (subjects.WAVE_CLOSED,), max_deliver=3, nak_backoff_s=(0.05,), ack_wait_s=5
    )
    loop = ConsumerLoop(js, spec, handler)
    task = asyncio.create_task(loop.run())
    try:
        for wave in ("first", "poison", "after"):
            await publish_event(
                js, subjects.WAVE_CLOSED, events_pb2.WaveClosed(wave_id=wave), msg_id=wave
            )
        async with asyncio.timeout(15):
            while loop.dead_lettered < 1 or "after" not in handled:
                await asyncio.sleep(0.05)
    finally:
        loop.stop()
        await task
    assert handled == ["first", "after"]
    assert attempts["poison"] == 3
    dead = await read_subject(js, subjects.dead_letter_subject("test-dlq"), 1)
    assert len(dead) == 1
    assert decode(dead[0], events_pb2.WaveClosed).wave_id == "poison"
    assert dead[0].headers is not None
    assert dead[0].headers["Pulse-Original-Subject"] == subjects.WAVE_CLOSED
    assert "always fails" in dead[0].headers["Pulse-Error"]


async def test_undecodable_message_is_dead_lettered_at_once(js: JetStreamContext) -> None:
    async def handler(msg: Msg) -> None:
        decode(msg, events_pb2.WaveClosed)

    loop = ConsumerLoop(js, ConsumerSpec("test-poison", (subjects.WAVE_CLOSED,)), handler)
    task = asyncio.create_task(loop.run())
    try:
        await publish(js, subjects.WAVE_CLOSED, b"\xff\xff\xff", msg_id="garbage")
        async with asyncio.timeout(10):
            while loop.dead_lettered < 1:
                await asyncio.sleep(0.05)
    finally:
        loop.stop()
        await task
    assert loop.handled == 0


async def test_outbox_publishes_after_nats_outage_exactly_once(
    database_url: str, embedded_nats: EmbeddedNats
) -> None:
    pool = await create_pool(database_url, "outboxtest")
    await apply_migrations(pool, "outboxtest", load_migrations("pulse_common"))
    nc = await connect_nats(embedded_nats.url, "relay")
    js = nc.jetstream()
    await ensure_stream(js)
    relay = OutboxRelay(pool, js, idle_poll_s=0.05, max_backoff_s=0.5)
    relay_task = asyncio.create_task(relay.run())
    ids = [str(uuid.uuid4()) for _ in range(20)]
    try:
        embedded_nats.stop()
        for response_id in ids:
            async with pool.acquire() as conn, conn.transaction():
                event = events_pb2.ResponseRecorded(response_id=response_id)
                await enqueue(conn, subjects.RESPONSE_RECORDED, event, msg_id=response_id)
            relay.notify()
        await asyncio.sleep(1.0)
        assert await pending_count(pool) == len(ids)  # nothing lost while NATS is down
        embedded_nats.start()
        async with asyncio.timeout(30):
            while await pending_count(pool) > 0:
                await asyncio.sleep(0.1)
        # Re-publishing the same ids (a relay crash before delete) adds nothing.
        for response_id in ids[:5]:
            await publish(js, subjects.RESPONSE_RECORDED, b"", msg_id=response_id)
        messages = await read_subject(js, subjects.RESPONSE_RECORDED, len(ids))
        seen = [decode(m, events_pb2.ResponseRecorded).response_id for m in messages]
        assert sorted(seen) == sorted(ids)
    finally:
        relay.stop()
        await relay_task
        await nc.close()
        await pool.close()
