"""SQL of invitations and their token hashes. The ``redeemed`` flag is read only by
redemption, reminders and response rates: no listing query selects it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from pulse_common.db import Connection

from pulse_survey.domain import NewInvitation


@dataclass(frozen=True)
class StoredInvitation:
    invitation_id: str
    survey_id: str
    survey_version: int
    kind: int
    wave_id: str  # "" for customer invitations
    wave_status: str  # "" for customer invitations
    unit_id: str
    period: str
    channel: str
    item_ids: list[str]  # empty: every item of the survey
    expires_at: datetime
    reminders_sent: int
    redeemed: bool
    redemption_key_hash: str


@dataclass(frozen=True)
class Reminder:
    invitation: StoredInvitation
    email: str  # the person's current address


@dataclass(frozen=True)
class DeliveryFact:
    """What ListInvitations shows: delivery facts only, nothing about answers."""

    invitation_id: str
    survey_id: str
    wave_id: str
    channel: str
    issued_at: datetime
    expires_at: datetime
    reminders_sent: int  # reminder rounds of the wave (see ``_LISTED``)


def _stored(row: asyncpg.Record) -> StoredInvitation:
    return StoredInvitation(
        invitation_id=str(row["invitation_id"]),
        survey_id=str(row["survey_id"]),
        survey_version=row["survey_version"],
        kind=row["kind"],
        wave_id=str(row["wave_id"]) if row["wave_id"] else "",
        wave_status=row["wave_status"] or "",
        unit_id=row["unit_id"],
        period=row["period"],
        channel=row["channel"],
        item_ids=list(row["item_ids"]),
        expires_at=row["expires_at"],
        reminders_sent=row["reminders_sent"],
        redeemed=row["redeemed"],
        redemption_key_hash=row["redemption_key_hash"] or "",
    )


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


_WITH_WAVE = (
    "SELECT i.*, w.status AS wave_status FROM invitations i"
    " LEFT JOIN waves w ON w.wave_id = i.wave_id"
)


async def by_token(
    conn: Connection, token_hash: str, *, for_update: bool = False
) -> StoredInvitation | None:
    """The invitation a token hash belongs to, with its wave's status; ``for_update``
    locks the invitation so concurrent redemptions queue behind each other."""
    row = await conn.fetchrow(
        _WITH_WAVE
        + " JOIN invitation_tokens t ON t.invitation_id = i.invitation_id WHERE t.token_hash = $1"
        + (" FOR UPDATE OF i" if for_update else ""),
        token_hash,
    )
    return None if row is None else _stored(row)


async def mark_redeemed(conn: Connection, invitation_id: str, key_hash: str) -> None:
    await conn.execute(
        "UPDATE invitations SET redeemed = true, redemption_key_hash = $2 WHERE invitation_id = $1",
        uuid.UUID(invitation_id),
        key_hash,
    )


async def due_for_reminder(
    conn: Connection, wave_id: uuid.UUID, now: datetime, max_reminders: int, sent_before: datetime
) -> list[Reminder]:
    """Unredeemed, unexpired invitations of active people, not reminded too often or
    too recently; with the person's current email."""
    rows = await conn.fetch(
        "SELECT i.*, w.status AS wave_status, p.email FROM invitations i"
        " JOIN waves w ON w.wave_id = i.wave_id"
        " JOIN people p ON p.pseudonym = i.person_pseudonym AND p.active"
        " WHERE i.wave_id = $1 AND NOT i.redeemed AND i.expires_at > $2"
        " AND i.reminders_sent < $3 AND i.last_sent_at <= $4",
        wave_id,
        now,
        max_reminders,
        sent_before,
    )
    return [Reminder(_stored(row), row["email"]) for row in rows]


async def mark_reminded(conn: Connection, ids: Sequence[str], now: datetime) -> None:
    await conn.execute(
        "UPDATE invitations SET reminders_sent = reminders_sent + 1, last_sent_at = $2"
        " WHERE invitation_id = ANY($1)",
        [uuid.UUID(invitation_id) for invitation_id in ids],
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


def _fact(row: asyncpg.Record) -> DeliveryFact:
    return DeliveryFact(
        invitation_id=str(row["invitation_id"]),
        survey_id=str(row["survey_id"]),
        wave_id=str(row["wave_id"]) if row["wave_id"] else "",
        channel=row["channel"],
        issued_at=row["issued_at"],
        expires_at=row["expires_at"],
        reminders_sent=row["reminders_sent"],
    )


async def list_delivery_facts(
    conn: Connection, wave_id: uuid.UUID | None, survey_id: uuid.UUID | None, limit: int
) -> tuple[list[DeliveryFact], int]:
    """The first ``limit`` invitations (in issue order) and how many there are."""
    rows = await conn.fetch(
        f"SELECT * FROM ({_LISTED}) listed ORDER BY issued_at, invitation_id LIMIT $3",
        wave_id,
        survey_id,
        limit,
    )
    total = await conn.fetchval(f"SELECT count(*) FROM ({_LISTED}) listed", wave_id, survey_id)
    return [_fact(row) for row in rows], int(total)
