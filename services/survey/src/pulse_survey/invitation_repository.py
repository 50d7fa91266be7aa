"""SQL of invitations and their token hashes. The ``redeemed`` flag is read only by
redemption, reminders and response rates: no listing query selects it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

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
    item_ids: list[str]  # empty: every item; never stored, derived from the token (rotation)
    expires_at: datetime
    reminders_sent: int
    redeemed: bool
    redemption_key_hash: str
    language: str = ""
    rotation: int = 0  # the wave's optional items per person (0: no rotation)


@dataclass(frozen=True)
class Reminder:
    invitation: StoredInvitation
    email: str  # the person's current address
    issued_on: date  # the day the invitation was issued


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
    delivery_status: str = "pending"  # of the invitation mailing: sent, bounced, failed
    delivery_detail: str = ""


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
        item_ids=[],
        expires_at=row["expires_at"],
        reminders_sent=row["reminders_sent"],
        redeemed=row["redeemed"],
        redemption_key_hash=row["redemption_key_hash"] or "",
        language=row["language"],
        rotation=row["rotation"] or 0,
    )


async def insert_invitations(
    conn: Connection, ids: Sequence[str], batch: Sequence[NewInvitation]
) -> None:
    await conn.executemany(
        "INSERT INTO invitations (invitation_id, survey_id, survey_version, kind, wave_id,"
        " person_pseudonym, interaction_id, unit_id, period, channel, expires_at, language)"
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
                new.expires_at,
                new.language,
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
    "SELECT i.*, w.status AS wave_status, w.rotation FROM invitations i"
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


@dataclass(frozen=True)
class Redemption:
    """What ``redeem`` found: the invitation as it stood before this statement (None: no
    such token) and whether this statement redeemed it."""

    invitation: StoredInvitation | None
    claimed: bool


# One statement: lock the token's invitation, redeem it when it is usable (not redeemed,
# not expired, its wave not closed), and return it as it stood. The stored key hash is
# ``sha256(invitation_id:keyed)`` where ``keyed`` is the HMAC of the caller's key computed
# by the service (``tokens.keyed_redemption_key``; the secret never reaches SQL), so it is
# bound to the invitation (any of its tokens) as before. A concurrent redemption waits on
# the row lock and then sees the row redeemed (READ COMMITTED re-reads a locked row).
_REDEEM = (
    "WITH found AS ("
    + _WITH_WAVE
    + " JOIN invitation_tokens t ON t.invitation_id = i.invitation_id WHERE t.token_hash = $1"
    " FOR UPDATE OF i),"
    " claimed AS (UPDATE invitations u SET redeemed = true, redemption_key_hash ="
    " encode(sha256(convert_to(u.invitation_id::text || ':' || $2, 'UTF8')), 'hex')"
    " FROM found f WHERE u.invitation_id = f.invitation_id AND NOT f.redeemed"
    " AND NOT u.redeemed AND f.expires_at > $3 AND f.wave_status IS DISTINCT FROM $4"
    " RETURNING u.redemption_key_hash)"
    " SELECT f.*, c.redemption_key_hash AS claimed_hash FROM found f LEFT JOIN claimed c ON true"
)


async def redeem(
    conn: Connection, token_hash: str, keyed: str, now: datetime, closed: str
) -> Redemption:
    """Redeem the invitation of ``token_hash`` with the caller's keyed redemption key, in
    one statement (its own transaction)."""
    row = await conn.fetchrow(_REDEEM, token_hash, keyed, now, closed)
    if row is None:
        return Redemption(None, False)
    invitation = _stored(row)
    if row["claimed_hash"] is None:
        return Redemption(invitation, False)
    return Redemption(
        replace(invitation, redeemed=True, redemption_key_hash=row["claimed_hash"]), True
    )


async def due_for_reminder(
    conn: Connection, wave_id: uuid.UUID, now: datetime, max_reminders: int, sent_before: datetime
) -> list[Reminder]:
    """Unredeemed, unexpired invitations of active people, not reminded too often or
    too recently; with the person's current email."""
    rows = await conn.fetch(
        "SELECT i.*, w.status AS wave_status, w.rotation, p.email FROM invitations i"
        " JOIN waves w ON w.wave_id = i.wave_id"
        " JOIN people p ON p.pseudonym = i.person_pseudonym AND p.active"
        " WHERE i.wave_id = $1 AND NOT i.redeemed AND i.expires_at > $2"
        " AND i.reminders_sent < $3 AND i.last_sent_at <= $4",
        wave_id,
        now,
        max_reminders,
        sent_before,
    )
    return [Reminder(_stored(row), row["email"], row["issued_at"].date()) for row in rows]


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
# The delivery status is the first mailing's (the invitation's), sent before anyone could
# answer; a reminder's outcome would say who had not answered when it went out.
_LISTED = (
    "SELECT i.invitation_id, i.survey_id, i.wave_id, i.channel, i.issued_at, i.expires_at,"
    " CASE WHEN i.wave_id IS NULL THEN 0"
    " ELSE max(i.reminders_sent) OVER (PARTITION BY i.wave_id) END AS reminders_sent,"
    " coalesce(d.status, 'pending') AS delivery_status, coalesce(d.detail, '') AS detail"
    " FROM invitations i LEFT JOIN deliveries d"
    " ON d.invitation_id = i.invitation_id AND d.mailing = 0"
    " WHERE ($1::uuid IS NULL OR i.wave_id = $1) AND ($2::uuid IS NULL OR i.survey_id = $2)"
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
        delivery_status=row["delivery_status"],
        delivery_detail=row["detail"],
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
