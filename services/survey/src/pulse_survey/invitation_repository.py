"""SQL of invitations, their token hashes, the contact log and recorded interactions.
The ``redeemed`` flag is read only by redemption, reminders and response rates: no
listing query selects it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
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
    """Held to commit: budget checks and stamps happen one transaction at a time."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _BUDGET_LOCK)


async def contacted_since(conn: Connection, keys: Sequence[str], since: date) -> set[str]:
    """Which of ``keys`` were stamped after ``since``."""
    rows = await conn.fetch(
        "SELECT contact_pseudonym FROM contact_log WHERE contact_pseudonym = ANY($1)"
        " AND last_contacted_on > $2",
        list(keys),
        since,
    )
    return {row["contact_pseudonym"] for row in rows}


async def stamp_contacts(conn: Connection, keys: Sequence[str], day: date) -> None:
    await conn.executemany(
        "INSERT INTO contact_log (contact_pseudonym, last_contacted_on) VALUES ($1, $2)"
        " ON CONFLICT (contact_pseudonym) DO UPDATE SET last_contacted_on ="
        " greatest(contact_log.last_contacted_on, EXCLUDED.last_contacted_on)",
        [(key, day) for key in keys],
    )


# -- interactions ------------------------------------------------------------------------


async def lock_interaction(conn: Connection, interaction_id: str) -> None:
    """Serialise concurrent records of one interaction id (an RPC racing the event): the
    second waits, then finds the first one's row."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"interaction:{interaction_id}"
    )


async def interaction(conn: Connection, interaction_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM interactions WHERE interaction_id = $1", interaction_id
    )
    return row


async def insert_interaction(
    conn: Connection,
    interaction_id: str,
    unit_id: str,
    occurred_on: date,
    channel: str,
    decision: int,
    reason: str,
    invitation_id: str,
) -> None:
    await conn.execute(
        "INSERT INTO interactions (interaction_id, unit_id, occurred_on, channel, decision,"
        " suppression_reason, invitation_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        interaction_id,
        unit_id,
        occurred_on,
        channel,
        decision,
        reason,
        uuid.UUID(invitation_id) if invitation_id else None,
    )
