"""Property 8: poison events go to the dead-letter subject while the others are counted;
``pulse deadletter list|show|replay`` puts them back, and replaying again changes nothing.

Two kinds of poison: responses to a survey version the correlation service has not seen
(retried, then dead-lettered; replayable once that version is published) and bytes that are
no event at all (dead-lettered at once; a replay dead-letters them again)."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from typing import Any

import nats
from click.testing import CliRunner
from pulse.events.v1 import events_pb2
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2
from pulse_cli.main import cli
from pulse_common import subjects
from pulse_common.messaging import publish, publish_event
from pulse_testing.faults.load import Respondents, open_wave, reconcile, report
from pulse_testing.faults.stack import FaultStack

CONSUMER = "correlation-responses"


async def pulse_json(stack: FaultStack, *args: str) -> dict[str, Any]:
    """``pulse <args> --json`` as an operator runs it against the stack (own thread: the
    command runs its own event loop)."""
    env = {**os.environ, **stack.env, "PULSE_DATA_DIR": stack.state.data_dir}
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, [*args, "--json"], env=env, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


async def letters(stack: FaultStack) -> list[dict[str, Any]]:
    listed = await pulse_json(stack, "deadletter", "list", "--consumer", CONSUMER)
    return list(listed["dead_letters"])


async def wait_letters(
    stack: FaultStack, count: int, timeout_s: float = 30.0
) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while len(found := await letters(stack)) < count:
        assert loop.time() < deadline, found
        await asyncio.sleep(0.3)
    return found


async def counted(stack: FaultStack, response_ids: list[str]) -> int:
    db = await stack.db("correlation")
    try:
        return int(
            await db.fetchval(
                "SELECT count(*) FROM processed_messages WHERE msg_id = ANY($1)",
                [f"response:{rid}" for rid in response_ids],
            )
        )
    finally:
        await db.close()


async def test_poison_is_dead_lettered_others_counted_then_replayed(
    fault_stack: FaultStack,
) -> None:
    stack = fault_stack
    async with stack.stubs() as stubs:
        wave = await open_wave(stack, stubs, "f08", {"f08-t0": 10})
        respondents = Respondents(stubs)
        await respondents.submit_all(wave.tokens[:5])
        assert not await letters(stack)
        # Responses to version 2 of the survey before it exists, and bytes that parse to
        # nothing: both poison the correlation service's consumer.
        unknown_version = [
            events_pb2.ResponseRecorded(
                response_id=str(uuid.uuid4()),
                survey_id=wave.survey_id,
                survey_version=2,
                kind=types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
                unit_id="f08-t0",
                period=wave.period,
                answers=[
                    types_pb2.Answer(item_id="rec.1", score=3),
                    types_pb2.Answer(item_id="fair.1", score=4),
                    types_pb2.Answer(item_id="enps.1", score=9),
                ],
                source="live",
            )
            for _ in range(3)
        ]
        nc = await nats.connect(stack.nats_url)
        try:
            js = nc.jetstream()
            for event in unknown_version:
                await publish_event(js, subjects.RESPONSE_RECORDED, event, msg_id=event.response_id)
            for n in range(2):
                await publish(
                    js,
                    subjects.RESPONSE_RECORDED,
                    b"\xff\xfe not a protobuf",
                    msg_id=f"f08-garbage-{n}",
                    headers={"Pulse-Type": "pulse.events.v1.ResponseRecorded"},
                )
        finally:
            await nc.close()
        await respondents.submit_all(wave.tokens[5:], start=5)
        dead = await wait_letters(stack, 5)
        good = await reconcile(stack, wave, respondents.tally)
        poison_ids = [event.response_id for event in unknown_version]
        assert await counted(stack, poison_ids) == 0
        shown = await pulse_json(stack, "deadletter", "show", str(dead[0]["seq"]))
        # The fix an operator makes: the survey version the responses belong to.
        revised = await stubs.survey.CreateSurvey(
            survey_pb.CreateSurveyRequest(
                survey_id=wave.survey_id,
                name="Pulse f08",
                kind=types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
                item_ids=["rec.1", "fair.1", "enps.1", "ecomment.1"],
                language="en",
            ),
            timeout=30,
        )
        published = await stubs.survey.PublishSurvey(
            survey_pb.PublishSurveyRequest(survey_id=revised.survey.survey_id), timeout=30
        )
        assert published.definition.version == 2
        first = await pulse_json(
            stack, "deadletter", "replay", "--all", "--consumer", CONSUMER, "--keep"
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while await counted(stack, poison_ids) < 3:
            assert loop.time() < deadline
            await asyncio.sleep(0.3)
        dead_again = await wait_letters(stack, 7)  # the 2 garbage ones, dead again
        second = await pulse_json(stack, "deadletter", "replay", "--all", "--consumer", CONSUMER)
        await asyncio.sleep(2 * float(stack.env["PULSE_ACK_WAIT_S"]))
        after = await reconcile(stack, wave, respondents.tally)
        remaining = await letters(stack)
    garbage_again = sum("undecodable" in letter["error"] for letter in dead_again[5:])
    report(
        "poison-and-replay",
        submitted=len(wave.tokens) + len(dead),
        ok=len(respondents.tally.ok),
        counted=after.counted,
        lost=good.lost + (3 - await counted(stack, poison_ids)),
        duplicated=max(0, after.counted - len(wave.tokens) - 3),
        poison=len(dead),
        counted_before_replay=good.counted,
        replayed=len(first["replayed"]),
        garbage_dead_again=garbage_again,
        second_replay_published=sum(r["published"] for r in second["replayed"]),
        dead_letters_left=len(remaining),
    )
    assert len(dead) == 5
    assert good.counted == len(wave.tokens)  # the others were counted meanwhile
    assert shown["original_subject"] == subjects.RESPONSE_RECORDED
    assert shown["error"]
    assert len(first["replayed"]) == 5
    assert all(r["published"] for r in first["replayed"])
    assert garbage_again == 2
    # Replaying everything again publishes nothing new and changes no count.
    assert not any(r["published"] for r in second["replayed"])
    assert await counted(stack, poison_ids) == 3
    assert after.counted == len(wave.tokens) + 3
    assert remaining == []
