"""SQL of waves (table ``waves``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg
from pulse_common.db import Connection

from pulse_survey.domain import Wave


@dataclass(frozen=True)
class NewWave:
    survey_id: uuid.UUID
    survey_version: int  # the version published when scheduled; pinned again at opening
    audience_unit_id: str
    period: str
    opens_on: date
    closes_on: date
    cadence: int
    rotation: int


def _wave(row: asyncpg.Record) -> Wave:
    return Wave(
        wave_id=str(row["wave_id"]),
        survey_id=str(row["survey_id"]),
        survey_version=row["survey_version"],
        audience_unit_id=row["audience_unit_id"],
        period=row["period"],
        opens_on=row["opens_on"],
        closes_on=row["closes_on"],
        status=row["status"],
        invited=row["invited"],
        cadence=row["cadence"],
        rotation=row["rotation"],
        min_group_size=row["min_group_size"],
        reminder_rounds=row["reminder_rounds"],
    )


async def get(conn: Connection, wave_id: uuid.UUID, *, for_update: bool = False) -> Wave | None:
    query = "SELECT * FROM waves WHERE wave_id = $1" + (" FOR UPDATE" if for_update else "")
    row = await conn.fetchrow(query, wave_id)
    return None if row is None else _wave(row)


async def overlapping(
    conn: Connection,
    survey_id: uuid.UUID,
    audience_unit_id: str,
    dates: Sequence[tuple[date, date]],
) -> date | None:
    """The opening day of a wave of this survey and audience that would be open at the same
    time as one of ``dates`` ((opens_on, closes_on) pairs, closes_on exclusive)."""
    day: date | None = await conn.fetchval(
        "SELECT w.opens_on FROM waves w, unnest($3::date[], $4::date[]) AS n(opens, closes)"
        " WHERE w.survey_id = $1 AND w.audience_unit_id = $2"
        " AND w.opens_on < n.closes AND n.opens < w.closes_on ORDER BY w.opens_on LIMIT 1",
        survey_id,
        audience_unit_id,
        [opens for opens, _ in dates],
        [closes for _, closes in dates],
    )
    return day


async def insert(conn: Connection, new: NewWave) -> Wave:
    row = await conn.fetchrow(
        "INSERT INTO waves (wave_id, survey_id, survey_version, audience_unit_id,"
        " period, opens_on, closes_on, status, cadence, rotation)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, 'scheduled', $8, $9) RETURNING *",
        uuid.uuid4(),
        new.survey_id,
        new.survey_version,
        new.audience_unit_id,
        new.period,
        new.opens_on,
        new.closes_on,
        new.cadence,
        new.rotation,
    )
    assert row is not None  # RETURNING always yields the row
    return _wave(row)


async def mark_open(
    conn: Connection, wave_id: uuid.UUID, survey_version: int, min_group_size: int, invited: int
) -> Wave:
    """Open the wave, pinning the survey version asked and locking k (DESIGN §3)."""
    row = await conn.fetchrow(
        "UPDATE waves SET status = 'open', survey_version = $2, min_group_size = $3,"
        " invited = $4 WHERE wave_id = $1 RETURNING *",
        wave_id,
        survey_version,
        min_group_size,
        invited,
    )
    assert row is not None  # the caller holds the row lock
    return _wave(row)


async def mark_closed(conn: Connection, wave_id: uuid.UUID) -> Wave:
    row = await conn.fetchrow(
        "UPDATE waves SET status = 'closed' WHERE wave_id = $1 RETURNING *", wave_id
    )
    assert row is not None  # the caller holds the row lock
    return _wave(row)


async def find(conn: Connection, survey_id: uuid.UUID | None, status: str) -> list[Wave]:
    rows = await conn.fetch(
        "SELECT * FROM waves WHERE ($1::uuid IS NULL OR survey_id = $1)"
        " AND ($2 = '' OR status = $2) ORDER BY opens_on, wave_id",
        survey_id,
        status,
    )
    return [_wave(row) for row in rows]


async def due_to_open(conn: Connection, today: date) -> list[uuid.UUID]:
    rows = await conn.fetch(
        "SELECT wave_id FROM waves WHERE status = 'scheduled' AND opens_on <= $1"
        " AND closes_on > $1",
        today,
    )
    return [row["wave_id"] for row in rows]


async def open_waves(conn: Connection, today: date) -> list[Wave]:
    """Open waves that have not reached their closing day."""
    rows = await conn.fetch(
        "SELECT * FROM waves WHERE status = 'open' AND closes_on > $1 ORDER BY closes_on", today
    )
    return [_wave(row) for row in rows]


async def set_reminder_rounds(conn: Connection, wave_id: uuid.UUID, rounds: int) -> None:
    await conn.execute("UPDATE waves SET reminder_rounds = $2 WHERE wave_id = $1", wave_id, rounds)


async def due_to_close(conn: Connection, today: date) -> list[uuid.UUID]:
    """Waves whose closing day has come; a backfilled wave (``wave_backfills``) closes when
    its tokens expire, or earlier by CloseWave."""
    rows = await conn.fetch(
        "SELECT wave_id FROM waves w WHERE status <> 'closed' AND closes_on <= $1"
        " AND NOT EXISTS (SELECT 1 FROM wave_backfills b WHERE b.wave_id = w.wave_id"
        " AND b.tokens_expire_at > $1::date::timestamptz)",
        today,
    )
    return [row["wave_id"] for row in rows]


async def record_backfill(
    conn: Connection, wave_id: str, requested_by: str, reason: str, tokens_expire_at: datetime
) -> None:
    """The audit row of a backfilled wave: who opened it for a past period, and why."""
    await conn.execute(
        "INSERT INTO wave_backfills (wave_id, requested_by, reason, tokens_expire_at)"
        " VALUES ($1, $2, $3, $4)",
        uuid.UUID(wave_id),
        requested_by,
        reason,
        tokens_expire_at,
    )
