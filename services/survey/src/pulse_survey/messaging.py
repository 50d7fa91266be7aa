"""NATS edge: interactions published by CRM / help-desk systems become invitations, once
per message (ledger row in the same transaction as the effect)."""

from __future__ import annotations

from nats.aio.msg import Msg
from pulse.events.v1 import events_pb2
from pulse_common import subjects
from pulse_common.errors import InvalidArgument
from pulse_common.ledger import claim_message
from pulse_common.messaging import ConsumerSpec, Handler, PermanentError, decode, message_id

from pulse_survey import interactions
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


def interaction_handler(deps: Deps) -> Handler:
    async def handle(msg: Msg) -> None:
        event = decode(msg, events_pb2.InteractionCompleted)
        try:
            interaction = interactions.parse_interaction(
                "",
                event.interaction_id,
                event.unit_id,
                event.occurred_at,
                event.channel,
                event.customer_key,
                event.customer_contact,
            )
        except InvalidArgument as error:
            raise PermanentError(error.message) from error  # retrying cannot fix the event
        async with deps.transaction() as conn:
            if not await claim_message(conn, message_id(msg), msg.subject):
                return
            try:
                await interactions.record(conn, deps, interaction, "")
            except InvalidArgument as error:
                raise PermanentError(error.message) from error
        deps.notify()

    return handle
