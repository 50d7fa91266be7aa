"""Storing one accepted response (live or imported) together with its
``pulse.response.recorded`` event, inside the caller's unit of work: both or neither."""

from __future__ import annotations

from pulse.events.v1 import events_pb2
from pulse.types.v1 import types_pb2
from pulse_common import subjects
from pulse_common.measures import is_customer
from pulse_common.uow import UnitOfWork

from pulse_response import repository
from pulse_response.domain import NewResponse


def recorded_event(response: NewResponse) -> events_pb2.ResponseRecorded:
    """The event never carries free text, identity or time (DESIGN §3)."""
    return events_pb2.ResponseRecorded(
        response_id=str(response.response_id),
        survey_id=response.survey_id,
        survey_version=response.survey_version,
        kind=types_pb2.SurveyKind.ValueType(response.kind),
        unit_id=response.group.unit_id,
        period=response.group.period,
        answers=[
            types_pb2.Answer(item_id=item_id, score=score)
            for item_id, score in response.answers.scores
        ],
        channel=response.channel if is_customer(response.kind) else "",
        source=response.source,
        wave_id=response.wave_id,
    )


async def record(uow: UnitOfWork, response: NewResponse) -> bool:
    """The response and its outbox row; False (nothing written) when the id already exists."""
    if not await repository.insert_response(uow.conn, response):
        return False
    await uow.enqueue(
        subjects.RESPONSE_RECORDED, recorded_event(response), msg_id=str(response.response_id)
    )
    return True
