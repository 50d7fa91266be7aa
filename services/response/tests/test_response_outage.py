"""Responses accepted while NATS is down are published once it is back, each exactly once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

from pulse.response.v1 import response_service_pb2 as pb
from pulse_common.embedded import EmbeddedNats
from pulse_testing.response import (
    employee_answers,
    employee_wave,
    outbox_drained,
    running_harness,
    stream_messages,
)


async def test_submits_during_nats_outage_are_published_once_after(
    database_url: str, nats_url: str, embedded_nats: EmbeddedNats
) -> None:
    async with running_harness(database_url, nats_url) as h:
        wave = await employee_wave(h, {"n1": 6})
        embedded_nats.stop()
        requests = [
            pb.SubmitRequest(
                token=token, answers=employee_answers(), idempotency_key=uuid.uuid4().hex
            )
            for token in wave.tokens
        ]
        replies = await asyncio.gather(*(h.response.Submit(r) for r in requests))
        # A client retry during the outage changes nothing.
        assert (await h.response.Submit(requests[0])).replayed
        assert await h.pool.fetchval("SELECT count(*) FROM outbox") == len(requests)
        await asyncio.sleep(0.5)  # the relay tries, fails and backs off meanwhile
        assert await h.pool.fetchval("SELECT count(*) FROM outbox") == len(requests)

        embedded_nats.start()
        await outbox_drained(h.pool, timeout_s=30)
        messages = await stream_messages(nats_url, "pulse.response.recorded", len(replies))
        counts = Counter(msg_id for msg_id, _ in messages)
        assert counts == Counter({r.response_id: 1 for r in replies})
