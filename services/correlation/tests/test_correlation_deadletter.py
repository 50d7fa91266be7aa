"""Poison responses: answers their survey cannot explain go to the dead-letter subject at
once (retrying cannot help), a response whose survey never arrives goes there after
max_deliver tries, and the consumer carries on; counts include only the good responses."""

from __future__ import annotations

import asyncio
import uuid

import nats
from nats.aio.msg import Msg
from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse.correlation.v1 import correlation_service_pb2_grpc as pb_grpc
from pulse.events.v1 import events_pb2
from pulse.types.v1 import types_pb2
from pulse_common import subjects
from pulse_common.messaging import publish_event
from pulse_correlation.app import DEFINITION
from pulse_correlation.messaging import RESPONSES_DURABLE
from pulse_testing.security import tools_channel
from pulse_testing.stack import inprocess_stack
from pulse_testing.stack import settings_for_tests as make_settings

SURVEY = types_pb2.SurveyDefinition(
    survey_id="cust",
    version=1,
    kind=types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION,
    items=[types_pb2.Item(item_id="c1", construct="csat", scale=types_pb2.SCALE_CSAT_1_5)],
    min_group_size=5,
)


def answer(
    item_id: str, score: int, survey_version: int = 1, period: str = "2026-04"
) -> events_pb2.ResponseRecorded:
    return events_pb2.ResponseRecorded(
        response_id=str(uuid.uuid4()),
        survey_id="cust",
        survey_version=survey_version,
        kind=types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION,
        unit_id="T1",
        period=period,
        answers=[types_pb2.Answer(item_id=item_id, score=score)],
    )


async def test_poison_responses_are_dead_lettered_and_the_rest_counted(
    database_url: str, nats_url: str
) -> None:
    settings = make_settings(database_url, nats_url, PULSE_MAX_DELIVER="2")
    async with inprocess_stack(settings, [DEFINITION]) as stack:
        nc = await nats.connect(nats_url)
        dead: dict[str, Msg] = {}
        arrived = asyncio.Event()

        async def on_dead(msg: Msg) -> None:
            event = events_pb2.ResponseRecorded()
            event.ParseFromString(msg.data)
            dead[event.response_id] = msg
            if len(dead) == 4:
                arrived.set()

        await nc.subscribe(subjects.dead_letter_subject(RESPONSES_DURABLE), cb=on_dead)
        js = nc.jetstream()
        try:
            await publish_event(
                js,
                subjects.SURVEY_PUBLISHED,
                events_pb2.SurveyPublished(survey=SURVEY),
                msg_id="survey:cust:1",
            )
            unknown_item = answer("not_an_item", 3)
            off_scale = answer("c1", 9)
            never_published = answer("c1", 4, survey_version=2)
            # PULSE_PERIOD is month: a response for an ISO week can never be counted.
            week = answer("c1", 4, period="2026-W14")
            good = [answer("c1", s) for s in (1, 2, 3, 4, 5, 5)]
            # Poison first, then good responses: the consumer must not get stuck.
            for event in [unknown_item, off_scale, never_published, week, *good]:
                await publish_event(js, subjects.RESPONSE_RECORDED, event, msg_id=event.response_id)
            await asyncio.wait_for(arrived.wait(), timeout=30)
            assert set(dead) == {
                unknown_item.response_id,
                off_scale.response_id,
                never_published.response_id,
                week.response_id,
            }

            def header(event: events_pb2.ResponseRecorded, name: str) -> str:
                headers = dead[event.response_id].headers or {}
                return headers.get(name, "")

            assert "not_an_item" in header(unknown_item, "Pulse-Error")
            assert "outside 1..5" in header(off_scale, "Pulse-Error")
            assert "not received yet" in header(never_published, "Pulse-Error")
            assert "must be a month" in header(week, "Pulse-Error")
            for event in (unknown_item, off_scale, never_published, week):
                assert header(event, "Pulse-Consumer") == RESPONSES_DURABLE
                assert header(event, "Pulse-Original-Subject") == subjects.RESPONSE_RECORDED
            loops = [
                c
                for c in stack.services["correlation"].context.consumers
                if c.spec.durable == RESPONSES_DURABLE
            ]
            # The dead letter is published before the loop terminates the original and
            # counts it, so the counter may trail the subscription by a moment.
            async with asyncio.timeout(10):
                while sum(loop.dead_lettered for loop in loops) < 4:
                    await asyncio.sleep(0.05)
            assert sum(loop.dead_lettered for loop in loops) == 4

            async with tools_channel(stack.address("correlation")) as channel:
                stub = pb_grpc.CorrelationServiceStub(channel)
                deadline = asyncio.get_running_loop().time() + 30
                while True:
                    stats = await stub.GetIngestionStats(pb.GetIngestionStatsRequest())
                    if stats.responses_counted >= len(good):
                        break
                    assert asyncio.get_running_loop().time() < deadline
                    await asyncio.sleep(0.1)
                await asyncio.sleep(0.5)  # nothing else may be counted later
                stats = await stub.GetIngestionStats(pb.GetIngestionStatsRequest())
                assert stats.responses_counted == len(good)
                assert stats.customer_responses == len(good)
            pool = stack.services["correlation"].context.pool
            row = await pool.fetchrow(
                "SELECT n, sum, counts FROM correlation.agg_item WHERE item_id = 'c1'"
            )
            assert row is not None
            assert (row["n"], row["sum"], list(row["counts"])) == (6, 20.0, [1, 1, 1, 1, 2])
            assert await pool.fetchval("SELECT count(*) FROM correlation.agg_item") == 1
            ledger_keys = {
                r["msg_id"]
                for r in await pool.fetch("SELECT msg_id FROM correlation.processed_messages")
            }
            for event in (unknown_item, off_scale, never_published, week):
                assert f"response:{event.response_id}" not in ledger_keys
        finally:
            await nc.close()
