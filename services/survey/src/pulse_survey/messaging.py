"""NATS edge: interactions published by CRM / help-desk systems become invitations, once
per message (ledger row in the same unit of work as the effect). Several workers
(``PULSE_SURVEY_INTERACTION_WORKERS``) share the one durable consumer, each message in its
own unit of work, acked after its commit (or a fetched batch in one unit of work,
``interaction_batch_handler``): interactions of one id are serialised by their
lock and the contact budget by per-person locks (``budget``), so order does not matter."""

from __future__ import annotations

from nats.aio.msg import Msg
from pulse.events.v1 import events_pb2
from pulse_common import subjects
from pulse_common.errors import InvalidArgument
from pulse_common.fields import require_uuid
from pulse_common.ledger import claim_message
from pulse_common.messaging import (
    BatchHandler,
    ConsumerSpec,
    Handler,
    PermanentError,
    decode,
    message_id,
)

from pulse_survey import domain, interaction_batch, interactions
from pulse_survey.context import Deps

DURABLE = "survey-interactions"
# A stopping consumer notices only when its fetch returns: keep shutdown (SIGTERM, and
# every test) within half a second; an idle long-poll twice a second costs NATS little.
FETCH_TIMEOUT_S = 0.5


def interaction_spec(max_deliver: int) -> ConsumerSpec:
    return ConsumerSpec(
        durable=DURABLE,
        filter_subjects=(subjects.INTERACTION_COMPLETED,),
        max_deliver=max_deliver,
        fetch_timeout_s=FETCH_TIMEOUT_S,
    )


def parse_event(event: events_pb2.InteractionCompleted) -> domain.InteractionInput:
    """The event's fields under the RPC's rules; a bad event is poison (retrying it
    cannot fix it), so it goes to the dead-letter subject."""
    try:
        return domain.parse_interaction(
            "",
            event.interaction_id,
            event.unit_id,
            event.occurred_at,
            event.channel,
            event.customer_key,
            event.customer_contact,
            event.language,
        )
    except InvalidArgument as error:
        raise PermanentError(error.message) from error


def survey_of(event: events_pb2.InteractionCompleted) -> str:
    """The survey the event names ("" = none); a malformed id is poison."""
    try:
        if not event.survey_id:
            return ""
        return str(require_uuid("survey_id", event.survey_id, "a survey id"))
    except InvalidArgument as error:
        raise PermanentError(error.message) from error


def interaction_handler(deps: Deps) -> Handler:
    """The handler of every worker: one unit of work per message, on a pooled connection."""

    async def handle(msg: Msg) -> None:
        event = decode(msg, events_pb2.InteractionCompleted)
        interaction, survey_id = parse_event(event), survey_of(event)
        async with deps.db.unit_of_work() as uow:
            if not await claim_message(uow.conn, message_id(msg), msg.subject):
                return
            try:
                await interactions.record(uow, deps, interaction, survey_id)
            except InvalidArgument as error:
                raise PermanentError(error.message) from error

    return handle


def interaction_batch_handler(deps: Deps) -> BatchHandler:
    """A fetched batch in one unit of work (``interaction_batch.record_batch``); raises, and the
    consumer loop falls back to ``interaction_handler`` per message, when any would fail."""

    async def handle(msgs: list[Msg]) -> None:
        if len({msg.subject for msg in msgs}) != 1:
            raise ValueError("a batch of interactions on several subjects")
        batch = []
        for msg in msgs:
            event = decode(msg, events_pb2.InteractionCompleted)
            batch.append(
                interaction_batch.QueuedInteraction(
                    message_id(msg), parse_event(event), survey_of(event)
                )
            )
        await interaction_batch.record_batch(deps, msgs[0].subject, batch)

    return handle
