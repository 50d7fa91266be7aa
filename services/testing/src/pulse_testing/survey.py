"""Test kit for the survey service (used by its tests and by cross-service tests): helpers
that drive a real service through gRPC and read the events it publishes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

import asyncpg
from google.protobuf.message import Message
from pulse.events.v1 import events_pb2
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse.survey.v1 import survey_service_pb2_grpc as pb_grpc
from pulse.types.v1 import types_pb2
from pulse_common.config import Settings
from pulse_common.subjects import INVITATION_ISSUED
from pulse_survey.app import DEFINITION
from pulse_survey.delivery_log import LOG_NAME

from pulse_testing.stack import (
    field_of as field_of,
)
from pulse_testing.stack import (
    inprocess_stack,
    settings_for_tests,
    tools_channel,
)
from pulse_testing.stack import (
    rpc_error as rpc_error,
)
from pulse_testing.stack import (
    stream_messages as stream_messages,
)

M = TypeVar("M", bound=Message)
TODAY = date.today()
EMPLOYEE_ITEMS = ["rec.1", "rec.2", "fair.1", "voice.2", "grow.2", "enps.1", "ecomment.1"]
CUSTOMER_ITEMS = ["csat.1", "nps.1", "staff.1", "ccomment.1"]


@dataclass
class Survey:
    stub: pb_grpc.SurveyServiceAsyncStub
    pool: asyncpg.Pool
    settings: Settings
    nats_url: str
    # Durable consumers the service runs (e.g. "delivery-log").
    durables: list[str] = field(default_factory=list)

    @property
    def delivery_log(self) -> Path:
        return Path(self.settings.data_dir) / LOG_NAME


@asynccontextmanager
async def running_survey(
    database_url: str, nats_url: str, data_dir: Path, **env: str
) -> AsyncIterator[Survey]:
    """A real survey service (its own PostgreSQL schema, NATS, gRPC) with ``env`` on top of
    the test settings. The wave scheduler is off: tests open and close waves explicitly."""
    settings = settings_for_tests(
        database_url,
        nats_url,
        **{
            "PULSE_WAVE_SCHEDULER_INTERVAL_S": "0",
            "PULSE_CONTACT_BUDGET_DAYS": "14",
            "PULSE_DATA_DIR": str(data_dir),
            **env,
        },
    )
    async with inprocess_stack(settings, [DEFINITION]) as stack:
        channel = tools_channel(stack.address("survey"))
        service = stack.services["survey"]
        try:
            yield Survey(
                pb_grpc.SurveyServiceStub(channel),
                service.context.pool,
                stack.settings,
                nats_url,
                [consumer.spec.durable for consumer in service.context.consumers],
            )
        finally:
            await channel.close()


async def read_events(
    nats_url: str, subject: str, message_type: type[M], at_least: int, timeout_s: float = 5.0
) -> list[M]:
    """Everything on ``subject`` in the stream, parsed, waiting until ``at_least`` arrived."""
    found: list[M] = []
    for _, data in await stream_messages(nats_url, subject, at_least, timeout_s):
        event = message_type()
        event.ParseFromString(data)
        found.append(event)
    return found


async def make_org(stub: pb_grpc.SurveyServiceAsyncStub, since: date | None = None) -> None:
    """root > {north > {n1, n2}, south}"""
    day = (since or TODAY - timedelta(days=60)).isoformat()
    front = pb.UNIT_TYPE_FRONT_LINE
    for unit_id, parent in [
        ("root", ""),
        ("north", "root"),
        ("south", "root"),
        ("n1", "north"),
        ("n2", "north"),
    ]:
        await stub.CreateUnit(
            pb.CreateUnitRequest(
                unit_id=unit_id,
                name=unit_id.title(),
                parent_id=parent,
                unit_type=front,
                effective_from=day,
            )
        )


def rows(people: dict[str, int]) -> list[pb.ImportRosterRequest]:
    """``people`` unit -> head count, as roster rows with stable employee ids."""
    result = []
    line = 1
    for unit_id, count in people.items():
        for index in range(count):
            line += 1
            row = pb.RosterRow(
                employee_id=f"E-{unit_id}-{index}",
                email=f"{unit_id}.{index}@example.com",
                unit_id=unit_id,
                line=line,
            )
            result.append(pb.ImportRosterRequest(row=row))
    return result


async def import_roster(
    stub: pb_grpc.SurveyServiceAsyncStub,
    messages: Sequence[pb.ImportRosterRequest],
    **options: object,
) -> pb.ImportRosterResponse:
    async def stream() -> AsyncIterator[pb.ImportRosterRequest]:
        yield pb.ImportRosterRequest(options=pb.ImportRosterOptions(**options))  # type: ignore[arg-type]
        for message in messages:
            yield message

    reply: pb.ImportRosterResponse = await stub.ImportRoster(stream())
    return reply


async def published_survey(
    stub: pb_grpc.SurveyServiceAsyncStub,
    kind: types_pb2.SurveyKind.ValueType = types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
    item_ids: Sequence[str] = EMPLOYEE_ITEMS,
) -> types_pb2.SurveyDefinition:
    created = await stub.CreateSurvey(
        pb.CreateSurveyRequest(name="Pulse", kind=kind, item_ids=item_ids)
    )
    reply = await stub.PublishSurvey(pb.PublishSurveyRequest(survey_id=created.survey.survey_id))
    definition: types_pb2.SurveyDefinition = reply.definition
    return definition


async def open_wave(
    stub: pb_grpc.SurveyServiceAsyncStub, survey_id: str, audience: str = "root", rotation: int = 0
) -> pb.OpenWaveResponse:
    scheduled = await stub.ScheduleWave(
        pb.ScheduleWaveRequest(
            survey_id=survey_id,
            audience_unit_id=audience,
            cadence=pb.CADENCE_ONCE,
            first_opens_on=TODAY.isoformat(),
            count=1,
            open_days=7,
            rotation_items_per_person=rotation,
        )
    )
    reply: pb.OpenWaveResponse = await stub.OpenWave(
        pb.OpenWaveRequest(wave_id=scheduled.waves[0].wave_id)
    )
    return reply


async def invitation_events(survey: Survey, at_least: int) -> list[events_pb2.InvitationIssued]:
    return await read_events(
        survey.nats_url, INVITATION_ISSUED, events_pb2.InvitationIssued, at_least
    )
