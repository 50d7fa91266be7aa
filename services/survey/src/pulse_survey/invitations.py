"""Issuing invitations: one token per invitee (only its hash is kept), the contact budget
shared by employee and customer surveys, and the ``pulse.invitation.issued`` event that
carries the raw token to the delivery adapter."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import asyncpg
from pulse.events.v1 import events_pb2
from pulse.types.v1 import types_pb2
from pulse_common import outbox, subjects

from pulse_survey import domain
from pulse_survey.context import Deps
from pulse_survey.tokens import new_token, token_hash

LINK_PREFIX = "/s/"


@dataclass(frozen=True)
class NewInvitation:
    survey_id: str
    survey_version: int
    kind: int
    wave_id: str  # "" for customer invitations
    person_pseudonym: str  # "" for customers
    interaction_id: str  # "" for employees
    unit_id: str
    period: str
    channel: str
    item_ids: Sequence[str]
    expires_at: datetime
    contact: str


async def recently_contacted(
    conn: asyncpg.Connection, pseudonyms: Sequence[str], today: date, budget_days: int
) -> set[str]:
    """Which of ``pseudonyms`` were asked within the last ``budget_days`` days."""
    if budget_days <= 0 or not pseudonyms:
        return set()
    rows = await conn.fetch(
        "SELECT contact_pseudonym FROM contact_log WHERE contact_pseudonym = ANY($1)"
        " AND last_contacted_on > $2",
        list(pseudonyms),
        today - timedelta(days=budget_days),
    )
    return {row["contact_pseudonym"] for row in rows}


async def record_contacts(conn: asyncpg.Connection, pseudonyms: Sequence[str], today: date) -> None:
    await conn.executemany(
        "INSERT INTO contact_log (contact_pseudonym, last_contacted_on) VALUES ($1, $2)"
        " ON CONFLICT (contact_pseudonym) DO UPDATE SET last_contacted_on ="
        " greatest(contact_log.last_contacted_on, EXCLUDED.last_contacted_on)",
        [(p, today) for p in pseudonyms],
    )


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


async def issue(conn: asyncpg.Connection, batch: Sequence[NewInvitation]) -> list[str]:
    """Write invitations and their token hashes and enqueue one event each, inside the
    caller's transaction. Returns the invitation ids."""
    ids = [str(uuid.uuid4()) for _ in batch]
    tokens = [new_token() for _ in batch]
    await conn.executemany(
        "INSERT INTO invitations (invitation_id, survey_id, survey_version, kind, wave_id,"
        " person_pseudonym, interaction_id, unit_id, period, channel, item_ids, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''), NULLIF($7, ''), $8, $9, $10, $11, $12)",
        [
            (
                uuid.UUID(invitation_id),
                uuid.UUID(new.survey_id),
                new.survey_version,
                new.kind,
                uuid.UUID(new.wave_id) if new.wave_id else None,
                new.person_pseudonym,
                new.interaction_id,
                new.unit_id,
                new.period,
                new.channel,
                list(new.item_ids),
                new.expires_at,
            )
            for invitation_id, new in zip(ids, batch, strict=True)
        ],
    )
    await conn.executemany(
        "INSERT INTO invitation_tokens (token_hash, invitation_id) VALUES ($1, $2)",
        [(token_hash(t), uuid.UUID(i)) for t, i in zip(tokens, ids, strict=True)],
    )
    for invitation_id, new, token in zip(ids, batch, tokens, strict=True):
        await outbox.enqueue(
            conn,
            subjects.INVITATION_ISSUED,
            _event(invitation_id, new, token, reminder=False),
            msg_id=f"invitation:{invitation_id}:0",
        )
    return ids


async def remind(
    conn: asyncpg.Connection, invitation_id: str, new: NewInvitation, reminder_number: int
) -> None:
    """A fresh token for the same invitation (the first link keeps working); redeeming
    either consumes the invitation."""
    token = new_token()
    await conn.execute(
        "INSERT INTO invitation_tokens (token_hash, invitation_id) VALUES ($1, $2)",
        token_hash(token),
        uuid.UUID(invitation_id),
    )
    await outbox.enqueue(
        conn,
        subjects.INVITATION_ISSUED,
        _event(invitation_id, new, token, reminder=True),
        msg_id=f"invitation:{invitation_id}:{reminder_number}",
    )


def redemption_key_hash(secret: str, invitation_id: str, key: str) -> str:
    message = f"redeem:{invitation_id}:{key}".encode()
    return hmac.new(secret.encode(), message, "sha256").hexdigest()


async def list_invitations(
    deps: Deps, wave_id: uuid.UUID | None, survey_id: uuid.UUID | None, limit: int
) -> tuple[list[asyncpg.Record], int]:
    where = "($1::uuid IS NULL OR wave_id = $1) AND ($2::uuid IS NULL OR survey_id = $2)"
    rows = await deps.pool.fetch(
        "SELECT invitation_id, survey_id, wave_id, channel, issued_at, expires_at,"
        f" reminders_sent FROM invitations WHERE {where} ORDER BY issued_at, invitation_id"
        " LIMIT $3",
        wave_id,
        survey_id,
        limit,
    )
    total = await deps.pool.fetchval(
        f"SELECT count(*) FROM invitations WHERE {where}", wave_id, survey_id
    )
    return list(rows), int(total)
