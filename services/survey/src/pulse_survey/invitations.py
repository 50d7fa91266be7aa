"""Issuing invitations: one token per invitee (only its hash is kept) and the
``delivery.invitation.issued`` event that carries the raw token to the delivery adapter (on
the delivery stream, never the shared one); and
listing their delivery facts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from pulse_common import subjects
from pulse_common.uow import UnitOfWork

from pulse_survey import events
from pulse_survey import invitation_repository as repo
from pulse_survey.context import Deps
from pulse_survey.domain import NewInvitation
from pulse_survey.invitation_repository import DeliveryFact
from pulse_survey.tokens import new_token, token_hash


async def issue(uow: UnitOfWork, batch: Sequence[NewInvitation]) -> list[str]:
    """Write invitations and their token hashes and enqueue one event each, inside the
    caller's unit of work. Returns the invitation ids."""
    ids = [str(uuid.uuid4()) for _ in batch]
    tokens = [new_token() for _ in batch]
    await repo.insert_invitations(uow.conn, ids, batch)
    await repo.insert_tokens(
        uow.conn, [(token_hash(t), i) for t, i in zip(tokens, ids, strict=True)]
    )
    for invitation_id, new, token in zip(ids, batch, tokens, strict=True):
        await enqueue_issued(uow, invitation_id, new, token)
    return ids


async def enqueue_issued(
    uow: UnitOfWork, invitation_id: str, new: NewInvitation, token: str
) -> None:
    """The ``delivery.invitation.issued`` event of a new invitation (its first mailing)."""
    await uow.enqueue(
        subjects.INVITATION_ISSUED,
        events.invitation_issued(invitation_id, new, token, mailing=0),
        msg_id=events.issued_msg_id(invitation_id, 0),
    )


async def remind(
    uow: UnitOfWork, invitation_id: str, new: NewInvitation, reminder_number: int
) -> None:
    """A fresh token for the same invitation (the first link keeps working); redeeming
    either consumes the invitation."""
    token = new_token()
    await repo.insert_tokens(uow.conn, [(token_hash(token), invitation_id)])
    await uow.enqueue(
        subjects.INVITATION_ISSUED,
        events.invitation_issued(invitation_id, new, token, mailing=reminder_number),
        msg_id=events.issued_msg_id(invitation_id, reminder_number),
    )


async def list_invitations(
    deps: Deps, wave_id: uuid.UUID | None, survey_id: uuid.UUID | None, limit: int
) -> tuple[list[DeliveryFact], int]:
    """Delivery facts only (see ``invitation_repository``): nothing says who answered."""
    async with deps.db.connection() as conn:
        return await repo.list_delivery_facts(conn, wave_id, survey_id, limit)
