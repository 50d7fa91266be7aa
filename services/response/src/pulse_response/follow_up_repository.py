"""SQL of detractor follow-ups (returns ``FollowUp`` records)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection

import asyncpg
from pulse_common.db import Connection

from pulse_response.detractors import FollowUp

_COLUMNS = (
    "follow_up_id, unit_id, period, channel, construct, score, contact, flagged_at,"
    " closed_at, outcome"
)


def _record(row: asyncpg.Record) -> FollowUp:
    return FollowUp(
        follow_up_id=row["follow_up_id"],
        unit_id=row["unit_id"],
        period=row["period"],
        channel=row["channel"],
        construct=row["construct"],
        score=row["score"],
        contact=row["contact"],
        flagged_at=row["flagged_at"],
        closed_at=row["closed_at"],
        outcome=row["outcome"],
    )


async def insert(conn: Connection, f: FollowUp) -> bool:
    """False when this follow-up already exists (a replayed response)."""
    status = await conn.execute(
        "INSERT INTO follow_ups (follow_up_id, unit_id, period, channel, construct, score,"
        " contact, flagged_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (follow_up_id) DO NOTHING",
        f.follow_up_id,
        f.unit_id,
        f.period,
        f.channel,
        f.construct,
        f.score,
        f.contact,
        f.flagged_at,
    )
    return status.endswith(" 1")


async def get(conn: Connection, follow_up_id: uuid.UUID) -> FollowUp | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM follow_ups WHERE follow_up_id = $1 FOR UPDATE", follow_up_id
    )
    return None if row is None else _record(row)


async def close(
    conn: Connection, follow_up_id: uuid.UUID, outcome: str, at: dt.datetime
) -> FollowUp:
    row = await conn.fetchrow(
        f"UPDATE follow_ups SET closed_at = $2, outcome = $3 WHERE follow_up_id = $1"
        f" RETURNING {_COLUMNS}",
        follow_up_id,
        at,
        outcome,
    )
    assert row is not None  # locked by ``get`` in the same unit of work
    return _record(row)


async def list_follow_ups(
    conn: Connection, units: Collection[str] | None, include_closed: bool, limit: int
) -> list[FollowUp]:
    """Newest first; ``units`` None = every unit."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM follow_ups"
        " WHERE ($1::text[] IS NULL OR unit_id = ANY($1::text[]))"
        " AND ($2 OR closed_at IS NULL) ORDER BY flagged_at DESC LIMIT $3",
        None if units is None else list(units),
        include_closed,
        limit,
    )
    return [_record(row) for row in rows]


async def counts(
    conn: Connection, units: Collection[str] | None, period_from: str, period_to: str
) -> list[tuple[str, int, int]]:
    """(period, flagged, closed) per period of the range ("" = open end)."""
    rows = await conn.fetch(
        "SELECT period, count(*) AS flagged, count(closed_at) AS closed FROM follow_ups"
        " WHERE ($1::text[] IS NULL OR unit_id = ANY($1::text[]))"
        " AND ($2 = '' OR period >= $2) AND ($3 = '' OR period <= $3)"
        " GROUP BY period ORDER BY period",
        None if units is None else list(units),
        period_from,
        period_to,
    )
    return [(r["period"], int(r["flagged"]), int(r["closed"])) for r in rows]


async def counts_by_unit(
    conn: Connection, units: Collection[str] | None, period_from: str, period_to: str
) -> list[tuple[str, str, int, int]]:
    """(unit, period, flagged, closed) per unit and period of the range."""
    rows = await conn.fetch(
        "SELECT unit_id, period, count(*) AS flagged, count(closed_at) AS closed"
        " FROM follow_ups WHERE ($1::text[] IS NULL OR unit_id = ANY($1::text[]))"
        " AND ($2 = '' OR period >= $2) AND ($3 = '' OR period <= $3)"
        " GROUP BY unit_id, period ORDER BY unit_id, period",
        None if units is None else list(units),
        period_from,
        period_to,
    )
    return [(r["unit_id"], r["period"], int(r["flagged"]), int(r["closed"])) for r in rows]
