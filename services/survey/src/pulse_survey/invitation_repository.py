"""SQL of invitations, their token hashes, the contact log and recorded interactions.
The ``redeemed`` flag is read only by redemption, reminders and response rates: no
listing query selects it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg
from pulse_common.db import Connection

from pulse_survey.domain import NewInvitation

# -- invitations and tokens -------------------------------------------------------------


async def insert_invitations(
    conn: Connection, ids: Sequence[str], batch: Sequence[NewInvitation]
) -> None:
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


async def insert_tokens(conn: Connection, hashes_and_ids: Sequence[tuple[str, str]]) -> None:
    await conn.executemany(
        "INSERT INTO invitation_tokens (token_hash, invitation_id) VALUES ($1, $2)",
        [(token_hash, uuid.UUID(invitation_id)) for token_hash, invitation_id in hashes_and_ids],
    )


_BY_TOKEN = (
    "SELECT i.*, w.status AS wave_status FROM invitation_tokens t"
    " JOIN invitations i ON i.invitation_id = t.invitation_id"
    " LEFT JOIN waves w ON w.wave_id = i.wave_id WHERE t.token_hash = $1"
)


async def by_token(
    conn: Connection | asyncpg.Pool, token_hash: str, *, for_update: bool = False
) -> asyncpg.Record | None:
    """The invitation a token hash belongs to, with its wave's status; ``for_update``
    locks the invitation so concurrent redemptions queue behind each other."""
    query = _BY_TOKEN + (" FOR UPDATE OF i" if for_update else "")
    row: asyncpg.Record | None = await conn.fetchrow(query, token_hash)
    return row


async def mark_redeemed(conn: Connection, invitation_id: uuid.UUID, key_hash: str) -> None:
    await conn.execute(
        "UPDATE invitations SET redeemed = true, redemption_key_hash = $2 WHERE invitation_id = $1",
        invitation_id,
        key_hash,
    )


async def due_for_reminder(
    conn: Connection, wave_id: uuid.UUID, now: datetime, max_reminders: int, sent_before: datetime
) -> list[asyncpg.Record]:
    """Unredeemed, unexpired invitations of active people, not reminded too often or
    too recently; with the person's current email."""
    rows = await conn.fetch(
        "SELECT i.*, p.email FROM invitations i JOIN people p"
        " ON p.pseudonym = i.person_pseudonym AND p.active"
        " WHERE i.wave_id = $1 AND NOT i.redeemed AND i.expires_at > $2"
        " AND i.reminders_sent < $3 AND i.last_sent_at <= $4",
        wave_id,
        now,
        max_reminders,
        sent_before,
    )
    return list(rows)


async def mark_reminded(conn: Connection, ids: Sequence[uuid.UUID], now: datetime) -> None:
    await conn.execute(
        "UPDATE invitations SET reminders_sent = reminders_sent + 1, last_sent_at = $2"
        " WHERE invitation_id = ANY($1)",
        list(ids),
        now,
    )


async def counts_by_unit(conn: Connection, wave_id: uuid.UUID) -> dict[str, tuple[int, int]]:
    """unit -> (invited, redeemed) of one wave."""
    rows = await conn.fetch(
        "SELECT unit_id, count(*) AS invited, count(*) FILTER (WHERE redeemed) AS responded"
        " FROM invitations WHERE wave_id = $1 GROUP BY unit_id",
        wave_id,
    )
    return {r["unit_id"]: (int(r["invited"]), int(r["responded"])) for r in rows}


# Delivery facts only. ``reminders_sent`` is reported per wave (the number of reminder
# rounds so far, the same on every invitation of the wave; 0 for customer invitations):
# per invitation it would say who had answered before a round.
_LISTED = (
    "SELECT invitation_id, survey_id, wave_id, channel, issued_at, expires_at,"
    " CASE WHEN wave_id IS NULL THEN 0"
    " ELSE max(reminders_sent) OVER (PARTITION BY wave_id) END AS reminders_sent"
    " FROM invitations WHERE ($1::uuid IS NULL OR wave_id = $1)"
    " AND ($2::uuid IS NULL OR survey_id = $2)"
)


async def list_delivery_facts(
    pool: asyncpg.Pool, wave_id: uuid.UUID | None, survey_id: uuid.UUID | None, limit: int
) -> tuple[list[asyncpg.Record], int]:
    rows = await pool.fetch(
        f"SELECT * FROM ({_LISTED}) listed ORDER BY issued_at, invitation_id LIMIT $3",
        wave_id,
        survey_id,
        limit,
    )
    total = await pool.fetchval(f"SELECT count(*) FROM ({_LISTED}) listed", wave_id, survey_id)
    return list(rows), int(total)


# -- contact budget ----------------------------------------------------------------------

_BUDGET_LOCK = 0x5055_4C53_4255_44  # "PULSBUD"


async def lock_contact_log(conn: Connection) -> None:
    """The budget lock, exclusively, held to commit: no other budget check or stamp runs
    meanwhile (a wave opening, which checks and stamps everyone at once)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _BUDGET_LOCK)


async def take_interaction_locks(
    conn: Connection,
    interaction_id: str | None,
    contact_keys: Sequence[str] | None,
    *,
    email_of: str | None = None,
) -> str | None:
    """Take, in the order of ``take_interaction_locks`` (migration 0002), the interaction
    id's lock and/or the budget lock shared with one lock per contact key; with
    ``email_of`` (an employee pseudonym) also read that person's roster email, returned."""
    email: str | None = await conn.fetchval(
        "SELECT (SELECT email FROM people WHERE pseudonym = $4),"
        " take_interaction_locks($1, $2, $3)",
        None if interaction_id is None else _interaction_key(interaction_id),
        None if contact_keys is None else _BUDGET_LOCK,
        None if contact_keys is None else list(contact_keys),
        email_of,
    )
    return email


async def contacted_since(conn: Connection, keys: Sequence[str], since: date) -> set[str]:
    """Which of ``keys`` were stamped after ``since``."""
    rows = await conn.fetch(
        "SELECT contact_pseudonym FROM contact_log WHERE contact_pseudonym = ANY($1)"
        " AND last_contacted_on > $2",
        list(keys),
        since,
    )
    return {row["contact_pseudonym"] for row in rows}


_STAMP = (
    " ON CONFLICT (contact_pseudonym) DO UPDATE SET last_contacted_on ="
    " greatest(contact_log.last_contacted_on, EXCLUDED.last_contacted_on)"
)


async def stamp_contacts(conn: Connection, keys: Sequence[str], day: date) -> None:
    # In key order, as every stamp: with the budget off no lock orders concurrent stamps,
    # and two transactions updating the same rows in opposite orders would deadlock.
    await conn.executemany(
        "INSERT INTO contact_log (contact_pseudonym, last_contacted_on) VALUES ($1, $2)" + _STAMP,
        [(key, day) for key in sorted(set(keys))],
    )


# -- interactions ------------------------------------------------------------------------


def _interaction_key(interaction_id: str) -> str:
    return f"interaction:{interaction_id}"


async def lock_interaction(conn: Connection, interaction_id: str) -> None:
    """Serialise concurrent records of one interaction id (an RPC racing the event): the
    second waits, then finds the first one's row. Every write of ``interactions`` holds it."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", _interaction_key(interaction_id)
    )


async def interaction(conn: Connection, interaction_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM interactions WHERE interaction_id = $1", interaction_id
    )
    return row


async def record_suppressed(
    conn: Connection,
    interaction_id: str,
    unit_id: str,
    occurred_on: date,
    channel: str,
    decision: int,
    reason: str,
) -> bool:
    """One statement: take the interaction id's lock, then record the suppression unless
    the id was recorded before (a re-send). True when recorded now."""
    inserted = await conn.fetchval(
        "WITH locked AS (SELECT pg_advisory_xact_lock(hashtextextended($1, 0)))"
        " INSERT INTO interactions (interaction_id, unit_id, occurred_on, channel, decision,"
        " suppression_reason) SELECT $2, $3, $4, $5, $6, $7 FROM locked"
        " ON CONFLICT (interaction_id) DO NOTHING RETURNING true",
        _interaction_key(interaction_id),
        interaction_id,
        unit_id,
        occurred_on,
        channel,
        decision,
        reason,
    )
    return bool(inserted)


# One statement once the interaction's locks are held (so it sees every earlier commit):
# unless the interaction was recorded before, check the contact budget ($9: stamped after
# this day; NULL when the budget is off) and record either an invitation (with its token
# hash and the contact stamps, in key order) or a ``contact_budget`` suppression.
_RECORD_IF_WITHIN_BUDGET = (
    "WITH previous AS (SELECT decision, suppression_reason, invitation_id FROM interactions"
    "  WHERE interaction_id = $1),"
    " verdict AS (SELECT NOT EXISTS (SELECT 1 FROM previous) AS fresh,"
    "  ($9::date IS NULL OR NOT EXISTS (SELECT 1 FROM contact_log"
    "   WHERE contact_pseudonym = ANY($8::text[]) AND last_contacted_on > $9)) AS within),"
    " invitation AS (INSERT INTO invitations (invitation_id, survey_id, survey_version, kind,"
    "  interaction_id, unit_id, period, channel, expires_at)"
    "  SELECT $10::uuid, $11::uuid, $12::integer, $13::smallint, $1, $2, $14::text, $4,"
    "  $15::timestamptz FROM verdict WHERE fresh AND within RETURNING invitation_id),"
    " token AS (INSERT INTO invitation_tokens (token_hash, invitation_id)"
    "  SELECT $16::text, invitation_id FROM invitation),"
    " stamp AS (INSERT INTO contact_log (contact_pseudonym, last_contacted_on)"
    "  SELECT key, $17::date FROM invitation, unnest($8::text[]) AS key ORDER BY key"
    + _STAMP
    + "),"
    " recorded AS (INSERT INTO interactions (interaction_id, unit_id, occurred_on, channel,"
    "  decision, suppression_reason, invitation_id)"
    "  SELECT $1, $2, $3::date, $4, CASE WHEN within THEN $5::smallint ELSE $6::smallint END,"
    "  CASE WHEN within THEN '' ELSE $7::text END, CASE WHEN within THEN $10::uuid END"
    "  FROM verdict WHERE fresh)"
    " SELECT v.fresh, v.within, p.decision, p.suppression_reason, p.invitation_id"
    " FROM verdict v LEFT JOIN previous p ON true"
)


@dataclass(frozen=True)
class BudgetedInvitation:
    """An invitation to issue for an interaction if its customer is within budget."""

    invitation_id: str
    new: NewInvitation
    token_hash: str
    contact_keys: Sequence[str]
    stamped_after: date | None  # None: the budget is off
    today: date


async def record_if_within_budget(
    conn: Connection,
    occurred_on: date,
    decisions: tuple[int, int, str],
    invitation: BudgetedInvitation,
) -> asyncpg.Record:
    """``decisions``: (invited, suppressed, reason) values. Returns (fresh, within,
    and the earlier decision, suppression_reason and invitation_id when not fresh)."""
    new = invitation.new
    invited, suppressed, reason = decisions
    row: asyncpg.Record | None = await conn.fetchrow(
        _RECORD_IF_WITHIN_BUDGET,
        new.interaction_id,
        new.unit_id,
        occurred_on,
        new.channel,
        invited,
        suppressed,
        reason,
        sorted(set(invitation.contact_keys)),
        invitation.stamped_after,
        uuid.UUID(invitation.invitation_id),
        uuid.UUID(new.survey_id),
        new.survey_version,
        new.kind,
        new.period,
        new.expires_at,
        invitation.token_hash,
        invitation.today,
    )
    assert row is not None  # the verdict is always one row
    return row
