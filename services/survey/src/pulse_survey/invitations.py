"""Issuing invitations: one token per invitee (only its hash is kept) and the
``pulse.invitation.issued`` event that carries the raw token to the delivery adapter."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Sequence

import asyncpg
from pulse.events.v1 import events_pb2
from pulse.types.v1 import types_pb2
from pulse_common import outbox, subjects
from pulse_common.db import Connection

from pulse_survey import domain
from pulse_survey import invitation_repository as repo
from pulse_survey.context import Deps
from pulse_survey.domain import NewInvitation
from pulse_survey.tokens import new_token, token_hash

LINK_PREFIX = "/s/"


def _event(
    invitation_id: str, new: NewInvitation, token: str, reminder: bool
) -> events_pb2.InvitationIssued:
    return events_pb2.InvitationIssued(
        invitation_id=invitation_id,
        survey_id=new.survey_id,
        survey_version=new.survey_version,
        kind=types_pb2.SurveyKind.ValueType(new.kind),
        wave_id=new.wave_id,
        interaction_id=new.interaction_id,
        contact=new.contact,
        token=token,
        expires_at=domain.rfc3339(new.expires_at),
        link_path=f"{LINK_PREFIX}{token}",
        reminder=reminder,
    )


def issued_msg_id(invitation_id: str, reminder_number: int) -> str:
    """One message per (invitation, mailing): 0 is the invitation, 1.. the reminders."""
    return f"invitation:{invitation_id}:{reminder_number}"


async def issue(conn: Connection, batch: Sequence[NewInvitation]) -> list[str]:
    """Write invitations and their token hashes and enqueue one event each, inside the
    caller's transaction. Returns the invitation ids."""
    ids = [str(uuid.uuid4()) for _ in batch]
    tokens = [new_token() for _ in batch]
    await repo.insert_invitations(conn, ids, batch)
    await repo.insert_tokens(conn, [(token_hash(t), i) for t, i in zip(tokens, ids, strict=True)])
    for invitation_id, new, token in zip(ids, batch, tokens, strict=True):
        await enqueue_issued(conn, invitation_id, new, token)
    return ids


async def enqueue_issued(
    conn: Connection, invitation_id: str, new: NewInvitation, token: str
) -> None:
    """The ``pulse.invitation.issued`` event of a new invitation (its first mailing)."""
    await outbox.enqueue(
        conn,
        subjects.INVITATION_ISSUED,
        _event(invitation_id, new, token, reminder=False),
        msg_id=issued_msg_id(invitation_id, 0),
    )


async def remind(
    conn: Connection, invitation_id: str, new: NewInvitation, reminder_number: int
) -> None:
    """A fresh token for the same invitation (the first link keeps working); redeeming
    either consumes the invitation."""
    token = new_token()
    await repo.insert_tokens(conn, [(token_hash(token), invitation_id)])
    await outbox.enqueue(
        conn,
        subjects.INVITATION_ISSUED,
        _event(invitation_id, new, token, reminder=True),
        msg_id=issued_msg_id(invitation_id, reminder_number),
    )


def redemption_key_hash(secret: str, invitation_id: str, key: str) -> str:
    message = f"redeem:{invitation_id}:{key}".encode()
    return hmac.new(secret.encode(), message, "sha256").hexdigest()


async def list_invitations(
    deps: Deps, wave_id: uuid.UUID | None, survey_id: uuid.UUID | None, limit: int
) -> tuple[list[asyncpg.Record], int]:
    """Delivery facts only (see ``invitation_repository``): nothing says who answered."""
    return await repo.list_delivery_facts(deps.pool, wave_id, survey_id, limit)
