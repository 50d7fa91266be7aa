"""SQL of recorded customer interactions, their locks and the contact log (the contact
budget, see ``budget``): every statement that decides whether an interaction is invited."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import asyncpg
from pulse_common.db import Connection

from pulse_survey.domain import NewInvitation


@dataclass(frozen=True)
class RecordedDecision:
    """The decision recorded for an interaction id (a re-send gets it back)."""

    decision: int
    suppression_reason: str
    invitation_id: str  # "" when suppressed


@dataclass(frozen=True)
class BudgetVerdict:
    fresh: bool  # False: recorded before, ``previous`` says how
    within: bool  # the customer was within the contact budget (and is invited now)
    previous: RecordedDecision | None


def _recorded(row: asyncpg.Record) -> RecordedDecision:
    invitation = row["invitation_id"]
    return RecordedDecision(
        row["decision"], row["suppression_reason"], str(invitation) if invitation else ""
    )


# -- contact budget ----------------------------------------------------------------------

_BUDGET_LOCK = 0x5055_4C53_4255_44  # "PULSBUD"


async def lock_contact_log(conn: Connection) -> None:
    """The budget lock, exclusively, held to commit: no other budget check or stamp runs
    meanwhile (a wave opening, which checks and stamps everyone at once)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _BUDGET_LOCK)


async def last_contacts(conn: Connection, keys: Sequence[str]) -> dict[str, date]:
    """The day each of ``keys`` was last asked (keys never asked are left out)."""
    rows = await conn.fetch(
        "SELECT contact_pseudonym, last_contacted_on FROM contact_log"
        " WHERE contact_pseudonym = ANY($1)",
        list(keys),
    )
    return {row["contact_pseudonym"]: row["last_contacted_on"] for row in rows}


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


async def roster_emails(conn: Connection, pseudonyms: Sequence[str]) -> dict[str, str]:
    """Roster emails of the employees among ``pseudonyms`` (pseudonym -> email)."""
    if not pseudonyms:
        return {}
    rows = await conn.fetch(
        "SELECT pseudonym, email FROM people WHERE pseudonym = ANY($1::text[])",
        sorted(set(pseudonyms)),
    )
    return {row["pseudonym"]: row["email"] for row in rows}


async def take_batch_locks(
    conn: Connection, interaction_ids: Sequence[str], contact_keys: Sequence[str] | None
) -> None:
    """A batch's locks in the order every transaction takes them (``budget``): each
    interaction id's, in one order for every batch, then, with ``contact_keys``, the
    budget lock shared and every contact key's (ascending, in the function)."""
    await conn.execute(
        "SELECT take_interaction_locks(key, NULL, NULL)"
        " FROM unnest($1::text[]) WITH ORDINALITY AS t(key, n) ORDER BY n",
        [_interaction_key(i) for i in sorted(set(interaction_ids))],
    )
    if contact_keys is not None:
        await conn.execute(
            "SELECT take_interaction_locks(NULL, $1, $2::text[])",
            _BUDGET_LOCK,
            sorted(set(contact_keys)),
        )


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


async def interaction(conn: Connection, interaction_id: str) -> RecordedDecision | None:
    row = await conn.fetchrow(
        "SELECT decision, suppression_reason, invitation_id FROM interactions"
        " WHERE interaction_id = $1",
        interaction_id,
    )
    return None if row is None else _recorded(row)


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
    "  interaction_id, unit_id, period, channel, expires_at, language)"
    "  SELECT $10::uuid, $11::uuid, $12::integer, $13::smallint, $1, $2, $14::text, $4,"
    "  $15::timestamptz, $18::text FROM verdict WHERE fresh AND within"
    "  RETURNING invitation_id),"
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
) -> BudgetVerdict:
    """``decisions``: (invited, suppressed, reason) values to record."""
    new = invitation.new
    invited, suppressed, reason = decisions
    row = await conn.fetchrow(
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
        new.language,
    )
    assert row is not None  # the verdict is always one row
    previous = None if row["fresh"] else _recorded(row)
    return BudgetVerdict(row["fresh"], row["within"], previous)


# -- a fetched batch of interactions (``interaction_batch``), its locks already held --------


async def recorded_among(conn: Connection, interaction_ids: Sequence[str]) -> set[str]:
    """Which of ``interaction_ids`` were recorded before (their decisions stand)."""
    rows = await conn.fetch(
        "SELECT interaction_id FROM interactions WHERE interaction_id = ANY($1::text[])",
        list(interaction_ids),
    )
    return {row["interaction_id"] for row in rows}


@dataclass(frozen=True)
class DecisionRow:
    """One interaction's decision to record."""

    interaction_id: str
    unit_id: str
    occurred_on: date
    channel: str
    decision: int
    suppression_reason: str
    invitation_id: uuid.UUID | None


async def insert_decisions(conn: Connection, rows: Sequence[DecisionRow]) -> None:
    """One statement for the batch (each id's lock is held and none was recorded)."""
    if not rows:
        return
    await conn.execute(
        "INSERT INTO interactions (interaction_id, unit_id, occurred_on, channel, decision,"
        " suppression_reason, invitation_id)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::smallint[],"
        " $6::text[], $7::uuid[])",
        [r.interaction_id for r in rows],
        [r.unit_id for r in rows],
        [r.occurred_on for r in rows],
        [r.channel for r in rows],
        [r.decision for r in rows],
        [r.suppression_reason for r in rows],
        [r.invitation_id for r in rows],
    )


async def insert_customer_invitations(
    conn: Connection, invitations: Sequence[tuple[uuid.UUID, NewInvitation, str]]
) -> None:
    """Customer invitations ((id, invitation, token hash)) and their tokens: two statements."""
    if not invitations:
        return
    await conn.execute(
        "INSERT INTO invitations (invitation_id, survey_id, survey_version, kind,"
        " interaction_id, unit_id, period, channel, expires_at, language)"
        " SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::integer[], $4::smallint[],"
        " $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[], $10::text[])",
        [i for i, _, _ in invitations],
        [uuid.UUID(new.survey_id) for _, new, _ in invitations],
        [new.survey_version for _, new, _ in invitations],
        [new.kind for _, new, _ in invitations],
        [new.interaction_id for _, new, _ in invitations],
        [new.unit_id for _, new, _ in invitations],
        [new.period for _, new, _ in invitations],
        [new.channel for _, new, _ in invitations],
        [new.expires_at for _, new, _ in invitations],
        [new.language for _, new, _ in invitations],
    )
    await conn.execute(
        "INSERT INTO invitation_tokens (token_hash, invitation_id)"
        " SELECT * FROM unnest($1::text[], $2::uuid[])",
        [token for _, _, token in invitations],
        [i for i, _, _ in invitations],
    )


async def stamp_all(conn: Connection, keys: Sequence[str], day: date) -> None:
    """Stamp ``keys`` with ``day`` in one statement, in key order (as every stamp)."""
    if not keys:
        return
    await conn.execute(
        "INSERT INTO contact_log (contact_pseudonym, last_contacted_on)"
        " SELECT key, $2::date FROM unnest($1::text[]) AS key ORDER BY key" + _STAMP,
        sorted(set(keys)),
        day,
    )
