"""A fetched batch of ``pulse.interaction.completed`` events in one unit of work and a fixed
handful of statements, whatever its size (issue 20): the ledger keys claimed, every lock
taken up front (``budget.lock_batch``), the interactions recorded before and the contact
stamps of the batch's customers read once, every decision made here in interaction id order
(exactly as ``interactions.record`` decides one), then one insert per table (decisions,
invitations, tokens, stamps, outbox events).

The contact budget stays exact: the batch holds the budget lock shared and the lock of
every key of every customer in it until its commit, so what it read of ``contact_log`` for
those keys cannot change meanwhile (another interaction or batch for the same person waits,
a wave opening takes the budget lock exclusively); inside the batch, a customer invited
stamps their keys and a later interaction of the same person in the batch finds them
stamped (``contact_budget``), as it would have read the earlier one's row. An interaction id
recorded before (the RPC, an earlier message) keeps its first decision and writes nothing.
Anything unusual (a unit the cached org does not know, a bad survey id) raises and rolls
the batch back; the consumer loop then handles its messages one by one (``record``)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from google.protobuf.message import Message
from pulse_common import outbox, subjects
from pulse_common.errors import InvalidArgument
from pulse_common.ledger import claim_messages
from pulse_common.uow import UnitOfWork

from pulse_survey import budget, events, org_repository
from pulse_survey import interaction_repository as repo
from pulse_survey.caches import existed_on
from pulse_survey.context import Deps
from pulse_survey.domain import InteractionInput, NewInvitation
from pulse_survey.interactions import (
    INVITED,
    SUPPRESSED,
    customer_invitation,
    load_customer_survey,
    suppression,
)
from pulse_survey.tokens import new_token, token_hash

CONTACT_BUDGET = "contact_budget"


@dataclass(frozen=True)
class QueuedInteraction:
    """One ``pulse.interaction.completed`` message of a fetched batch."""

    message_id: str  # the consumer ledger's key
    interaction: InteractionInput
    survey_id: str


async def record_batch(deps: Deps, subject: str, batch: Sequence[QueuedInteraction]) -> int:
    """Record a fetched batch in one unit of work; how many messages were new."""
    async with deps.db.unit_of_work() as uow:
        fresh = await claim_messages(uow.conn, [q.message_id for q in batch], subject)
        todo = []
        for queued in batch:
            if queued.message_id in fresh:
                fresh.discard(queued.message_id)  # the same message twice counts once
                todo.append(queued)
        if todo:
            await _decide_and_write(
                uow, deps, sorted(todo, key=lambda q: q.interaction.interaction_id)
            )
    return len(todo)


async def _decide_and_write(uow: UnitOfWork, deps: Deps, todo: list[QueuedInteraction]) -> None:
    conn = uow.conn
    common = deps.settings.common
    budget_days = common.contact_budget_days
    keys_of = await budget.lock_batch(
        conn,
        common.hmac_secret,
        [
            (
                q.interaction.interaction_id,
                q.interaction.customer_contact,
                q.interaction.customer_key,
            )
            for q in todo
        ],
        budget_days,
    )
    done = await repo.recorded_among(conn, [q.interaction.interaction_id for q in todo])
    today = deps.today()
    stamped_after = today - timedelta(days=budget_days) if budget_days > 0 else None
    every_key = sorted({key for keys in keys_of.values() for key in keys})
    stamped = (
        await repo.contacted_since(conn, every_key, stamped_after)
        if stamped_after is not None and every_key
        else set()
    )
    spans = await deps.caches.org.get("", lambda: org_repository.spans(conn))
    decisions: list[repo.DecisionRow] = []
    invited: list[tuple[uuid.UUID, NewInvitation, str]] = []
    stamps: list[str] = []
    issued: list[tuple[str, Message]] = []
    for queued in todo:
        interaction = queued.interaction
        if interaction.interaction_id in done:
            continue  # recorded before (or earlier in this batch): its decision stands
        done.add(interaction.interaction_id)
        day = interaction.occurred_at.date()
        if not existed_on(spans, interaction.unit_id, day) and not await org_repository.existed_on(
            conn, interaction.unit_id, day
        ):
            raise InvalidArgument(
                "interaction.unit_id",
                f"unit {interaction.unit_id} did not exist on {day.isoformat()}",
            )
        survey_id = queued.survey_id or deps.settings.survey_for_channel(interaction.channel)
        survey = await deps.caches.customer_surveys.get(
            survey_id, functools.partial(load_customer_survey, conn, survey_id)
        )
        reason = suppression(deps, interaction, survey)
        keys = keys_of.get(interaction.interaction_id, [])
        if not reason and survey is not None and any(key in stamped for key in keys):
            reason = CONTACT_BUDGET  # ``stamped`` stays empty with the budget off
        if reason or survey is None:
            decisions.append(_row(interaction, SUPPRESSED, reason, None))
            continue
        invitation_id, token = uuid.uuid4(), new_token()
        new = customer_invitation(deps, interaction, survey)
        invited.append((invitation_id, new, token_hash(token)))
        stamps.extend(keys)
        if stamped_after is not None:
            stamped.update(keys)  # stamped today: later interactions of this person wait
        decisions.append(_row(interaction, INVITED, "", invitation_id))
        issued.append(
            (
                events.issued_msg_id(str(invitation_id), 0),
                events.invitation_issued(str(invitation_id), new, token, mailing=0),
            )
        )
    await repo.insert_customer_invitations(conn, invited)
    await repo.stamp_all(conn, stamps, today)
    await repo.insert_decisions(conn, decisions)
    await outbox.enqueue_many(conn, subjects.INVITATION_ISSUED, issued)
    uow.enqueued += len(issued)  # the relay is woken after the commit


def _row(
    interaction: InteractionInput, decision: int, reason: str, invitation_id: uuid.UUID | None
) -> repo.DecisionRow:
    return repo.DecisionRow(
        interaction_id=interaction.interaction_id,
        unit_id=interaction.unit_id,
        occurred_on=interaction.occurred_at.date(),
        channel=interaction.channel,
        decision=decision,
        suppression_reason=reason,
        invitation_id=invitation_id,
    )
