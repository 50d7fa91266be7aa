"""The stream reader of the anonymity adversaries (issue 13, ``pulse_testing.anonymity``):
every message of every stream as the operator's ``tools`` user reads them, once the
invitations are delivered, and the linkage of submit order to response-event order."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from pulse.events.v1 import events_pb2
from pulse_common.subjects import DELIVERY_STREAM

from pulse_testing.anonymity import Run, rank_pairs
from pulse_testing.response import Harness


@dataclass(frozen=True)
class Message:
    subject: str
    sequence: int
    data: bytes
    headers: dict[str, str]


async def read_stream(nats_url: str, stream: str = "PULSE", subject: str = ">") -> list[Message]:
    """Every message of ``stream`` (as a reader with the operator's credentials)."""
    import nats
    import nats.errors

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(subject, durable=f"a{uuid.uuid4().hex[:8]}", stream=stream)
        found: list[Message] = []
        while True:
            try:
                batch = await sub.fetch(1000, timeout=0.5)
            except (TimeoutError, nats.errors.TimeoutError):
                return found
            for msg in batch:
                found.append(
                    Message(msg.subject, msg.metadata.sequence.stream, msg.data, msg.headers or {})
                )
                await msg.ack()
    finally:
        await nc.close()


async def every_stream(nats_url: str) -> list[Message]:
    """Every message of every stream on the server (the operator's ``tools`` user reads
    them all, the delivery stream included)."""
    import nats

    nc = await nats.connect(nats_url)
    try:
        names = await nc.jetstream().streams_info()
    finally:
        await nc.close()
    found: list[Message] = []
    for info in names:
        found += await read_stream(nats_url, info.config.name or "")
    return found


async def delivered(h: Harness, invitations: int, timeout_s: float = 60.0) -> None:
    """Until the survey service's delivery adapter has recorded an outcome for
    ``invitations`` mailings, and then (at most 10 s more) until the delivery stream is
    empty: each message is deleted right after its outcome is committed."""
    import nats

    deadline = time.monotonic() + timeout_s
    while await h.survey_pool.fetchval("SELECT count(*) FROM deliveries") < invitations:
        assert time.monotonic() < deadline, "the invitations were not delivered"
        await asyncio.sleep(0.2)
    nc = await nats.connect(h.nats_url)
    try:
        for _ in range(50):
            if not (await nc.jetstream().stream_info(DELIVERY_STREAM)).state.messages:
                return
            await asyncio.sleep(0.2)
    finally:
        await nc.close()


def stream_reader(messages: Sequence[Message], run: Run) -> tuple[int, int]:
    """(matched, respondents): the reader also knows the order people submitted in (an
    observer in the office) and pairs it, per team, with the order of the response events
    on the stream."""
    by_response = {rid: token for token, rid in run.response_of.items()}
    order = {token: index for index, token in enumerate(run.submitted)}
    people: dict[str, list[tuple[object, str]]] = defaultdict(list)
    for token in run.submitted:
        people[run.token_team[token]].append((order[token], token))
    answers: dict[str, list[tuple[object, str]]] = defaultdict(list)
    for m in messages:
        if m.subject != "pulse.response.recorded":
            continue
        event = events_pb2.ResponseRecorded.FromString(m.data)
        if event.wave_id == run.wave_id:
            answers[event.unit_id].append((m.sequence, event.response_id))
    pairs = rank_pairs(people, answers)
    matched = sum(by_response.get(answer_id) == token for token, answer_id in pairs)
    return matched, sum(len(a) for a in answers.values())
