"""NATS edge: keep the local copy of published survey versions up to date, and write the
held answers of a wave as soon as it closes (``batches``)."""

from __future__ import annotations

from nats.aio.msg import Msg
from pulse.events.v1 import events_pb2
from pulse_common import subjects
from pulse_common.ledger import claim_message
from pulse_common.messaging import ConsumerSpec, PermanentError, decode, message_id
from pulse_common.uow import Database

from pulse_response import batches, repository
from pulse_response.context import Deps

SURVEYS_DURABLE = "response-surveys"
WAVES_DURABLE = "response-waves"


def surveys_spec(max_deliver: int) -> ConsumerSpec:
    return ConsumerSpec(
        durable=SURVEYS_DURABLE,
        filter_subjects=(subjects.SURVEY_PUBLISHED,),
        max_deliver=max_deliver,
    )


class SurveyPublishedHandler:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def __call__(self, msg: Msg) -> None:
        event = decode(msg, events_pb2.SurveyPublished)
        if not event.survey.survey_id or event.survey.version < 1:
            raise PermanentError("SurveyPublished without survey id or version")
        # The ledger row and the copy commit together: a redelivery changes nothing.
        async with self.db.unit_of_work() as uow:
            if await claim_message(uow.conn, message_id(msg), msg.subject):
                await repository.save_definition(uow.conn, event.survey)


def waves_spec(max_deliver: int) -> ConsumerSpec:
    return ConsumerSpec(
        durable=WAVES_DURABLE,
        filter_subjects=(subjects.WAVE_CLOSED,),
        max_deliver=max_deliver,
    )


class WaveClosedHandler:
    """A closed wave's held answers are written whatever their number (a redelivery finds
    nothing left to write)."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def __call__(self, msg: Msg) -> None:
        event = decode(msg, events_pb2.WaveClosed)
        if not event.wave_id:
            raise PermanentError("WaveClosed without a wave id")
        await batches.write_due(self.deps, closed_wave_id=event.wave_id)
