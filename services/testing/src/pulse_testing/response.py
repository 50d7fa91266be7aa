"""Test kit for the response service (its own tests and cross-service tests): the real
survey and response services started in the current event loop, with gRPC stubs, and
helpers that read what they publish. Imports the survey service lazily."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date

import asyncpg
from pulse.events.v1 import events_pb2
from pulse.response.v1 import response_service_pb2_grpc as response_grpc
from pulse.survey.v1 import survey_service_pb2_grpc as survey_grpc
from pulse.types.v1 import types_pb2
from pulse_common.subjects import INVITATION_ISSUED
from pulse_common.uow import Database

from pulse_testing.stack import (
    InProcessStack,
    inprocess_stack,
    settings_for_tests,
    tools_channel,
)
from pulse_testing.stack import (
    field_of as field_of,
)
from pulse_testing.stack import (
    rpc_error as rpc_error,
)
from pulse_testing.stack import (
    stream_messages as stream_messages,
)


@dataclass
class Harness:
    stack: InProcessStack
    survey: survey_grpc.SurveyServiceAsyncStub
    response: response_grpc.ResponseServiceAsyncStub
    nats_url: str

    @property
    def pool(self) -> asyncpg.Pool:
        """The response service's pool (search_path = response)."""
        return self.stack.services["response"].context.pool

    @property
    def db(self) -> Database:
        """Units of work on the response service's pool (for seeding rows directly)."""
        return Database(self.pool)

    @property
    def survey_pool(self) -> asyncpg.Pool:
        return self.stack.services["survey"].context.pool


@asynccontextmanager
async def running_harness(database_url: str, nats_url: str, **env: str) -> AsyncIterator[Harness]:
    from pulse_response.app import DEFINITION as RESPONSE
    from pulse_survey.app import DEFINITION as SURVEY

    overrides = {
        "PULSE_WAVE_SCHEDULER_INTERVAL_S": "0",
        "PULSE_RESPONSE_SUBMITS_PER_MINUTE": "1000",
        **env,
    }
    settings = settings_for_tests(database_url, nats_url, **overrides)
    async with inprocess_stack(settings, [SURVEY, RESPONSE]) as stack:
        survey_channel = tools_channel(stack.address("survey"))
        response_channel = tools_channel(stack.address("response"))
        try:
            yield Harness(
                stack,
                survey_grpc.SurveyServiceStub(survey_channel),
                response_grpc.ResponseServiceStub(response_channel),
                nats_url,
            )
        finally:
            await survey_channel.close()
            await response_channel.close()


async def invitation_tokens(nats_url: str, at_least: int) -> list[str]:
    """Raw tokens from delivery.invitation.issued (as a delivery adapter sees them)."""
    found = await stream_messages(nats_url, INVITATION_ISSUED, at_least)
    tokens = []
    for _, data in found:
        event = events_pb2.InvitationIssued()
        event.ParseFromString(data)
        if not event.reminder:
            tokens.append(event.token)
    assert len(tokens) >= at_least, f"expected {at_least} invitations, got {len(tokens)}"
    return tokens


async def outbox_drained(pool: asyncpg.Pool, timeout_s: float = 15.0) -> None:
    """Wait until the relay has published every outbox row."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while await pool.fetchval("SELECT count(*) FROM outbox"):
        if loop.time() > deadline:
            raise AssertionError("the outbox did not drain")
        await asyncio.sleep(0.1)


@dataclass
class Wave:
    definition: types_pb2.SurveyDefinition
    wave_id: str
    period: str
    tokens: list[str]


async def employee_wave(
    h: Harness, people: dict[str, int], rotation: int = 0, org_since: date | None = None
) -> Wave:
    """Org root > north > {n1, n2}, south; ``people`` per unit; a published employee survey
    and one open wave over the whole org (``rotation`` rotatable items per person), with
    the raw tokens it issued; the org exists from ``org_since`` (default: 60 days ago;
    imports of history need it to exist in their periods)."""
    from pulse_testing import survey as survey_kit

    await survey_kit.make_org(h.survey, since=org_since)
    await survey_kit.import_roster(h.survey, survey_kit.rows(people))
    definition = await survey_kit.published_survey(h.survey)
    opened = await survey_kit.open_wave(h.survey, definition.survey_id, rotation=rotation)
    total = sum(people.values())
    tokens = await invitation_tokens(h.nats_url, total)
    return Wave(definition, opened.wave.wave_id, opened.wave.period, tokens)


def employee_answers(enps: int = 8, comment: str = "") -> list[types_pb2.Answer]:
    """A complete valid answer set for the survey kit's employee survey."""
    answers = [
        types_pb2.Answer(item_id="rec.1", score=4),
        types_pb2.Answer(item_id="fair.1", score=3),
        types_pb2.Answer(item_id="enps.1", score=enps),
    ]
    if comment:
        answers.append(types_pb2.Answer(item_id="ecomment.1", text=comment))
    return answers
