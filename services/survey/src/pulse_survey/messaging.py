"""NATS edge: interactions published by CRM / help-desk systems become invitations, once
per message (ledger row in the same transaction as the effect). Several workers
(``PULSE_SURVEY_INTERACTION_WORKERS``) share the one durable consumer, each message in its
own transaction, acked after its commit: interactions of one id are serialised by their
lock and the contact budget by per-person locks (``budget``), so order does not matter."""

from __future__ import annotations

from collections.abc import Mapping

from nats.aio.msg import Msg
from pulse.events.v1 import events_pb2
from pulse_common import subjects
from pulse_common.config import ConfigError, env_int
from pulse_common.errors import InvalidArgument
from pulse_common.ledger import claim_message
from pulse_common.messaging import ConsumerSpec, Handler, PermanentError, decode, message_id

from pulse_survey import interactions
from pulse_survey.context import Deps, HeldConnection

DURABLE = "survey-interactions"
# A stopping consumer notices only when its fetch returns: keep shutdown (SIGTERM, and
# every test) within half a second; an idle long-poll twice a second costs NATS little.
FETCH_TIMEOUT_S = 0.5
WORKERS_VARIABLE = "PULSE_SURVEY_INTERACTION_WORKERS"
DEFAULT_WORKERS = 4
MAX_WORKERS = 64
RESERVED_CONNECTIONS = 3


def interaction_workers(env: Mapping[str, str], pool_max: int | None = None) -> int:
    """Validated at start-up (``wire``): a bad value stops the service with its name. Each
    worker keeps a database connection, so with ``pool_max`` (``PULSE_DB_POOL_MAX``) three
    must stay for the rest (the delivery log keeps one; gRPC and the outbox relay)."""
    workers = env_int(env, WORKERS_VARIABLE, DEFAULT_WORKERS, 1, MAX_WORKERS)
    if pool_max is not None and workers > pool_max - RESERVED_CONNECTIONS:
        raise ConfigError(
            f"{WORKERS_VARIABLE} ({workers}) must be at most PULSE_DB_POOL_MAX"
            f" - {RESERVED_CONNECTIONS} ({pool_max - RESERVED_CONNECTIONS}): each interaction"
            " worker keeps a database connection"
        )
    return workers


def interaction_spec(max_deliver: int) -> ConsumerSpec:
    return ConsumerSpec(
        durable=DURABLE,
        filter_subjects=(subjects.INTERACTION_COMPLETED,),
        max_deliver=max_deliver,
        fetch_timeout_s=FETCH_TIMEOUT_S,
    )


def interaction_handler(deps: Deps, held: HeldConnection) -> Handler:
    """The handler of one worker: its messages share ``held``, one at a time."""

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
        async with held.transaction() as conn:
            if not await claim_message(conn, message_id(msg), msg.subject):
                return
            try:
                decision = await interactions.record(conn, deps, interaction, "")
            except InvalidArgument as error:
                raise PermanentError(error.message) from error
        if decision.enqueued:
            deps.notify()

    return handle
