"""SQL of the roster (table ``people``): employees only as HMAC pseudonyms, with the email
that invitations are delivered to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import asyncpg
from pulse_common.db import Connection

PersonWrite = tuple[str, str, str, date | None, date | None]  # pseudonym, email, unit, start, end


async def all_people(conn: Connection) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        "SELECT pseudonym, email, unit_id, start_date, end_date, active FROM people"
    )
    return {row["pseudonym"]: row for row in rows}


async def upsert(conn: Connection, writes: Sequence[PersonWrite]) -> None:
    """Create or update people; a person in the file is active again."""
    await conn.executemany(
        "INSERT INTO people (pseudonym, email, unit_id, start_date, end_date, active)"
        " VALUES ($1, $2, $3, $4, $5, true) ON CONFLICT (pseudonym) DO UPDATE SET"
        " email = EXCLUDED.email, unit_id = EXCLUDED.unit_id,"
        " start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date, active = true,"
        " updated_at = now()",
        writes,
    )


async def deactivate(conn: Connection, pseudonyms: Sequence[str]) -> None:
    await conn.execute(
        "UPDATE people SET active = false, updated_at = now() WHERE pseudonym = ANY($1)",
        list(pseudonyms),
    )


async def move_unit(conn: Connection, source_id: str, target_id: str) -> int:
    """Everyone in ``source_id`` now belongs to ``target_id``; returns how many moved."""
    status = await conn.execute(
        "UPDATE people SET unit_id = $2, updated_at = now() WHERE unit_id = $1",
        source_id,
        target_id,
    )
    return int(status.split()[-1])


async def active_in(conn: Connection, unit_ids: Sequence[str], day: date) -> list[asyncpg.Record]:
    """Active people of ``unit_ids`` employed on ``day`` (pseudonym, email, unit_id)."""
    rows = await conn.fetch(
        "SELECT pseudonym, email, unit_id FROM people WHERE active AND unit_id = ANY($1)"
        " AND (start_date IS NULL OR start_date <= $2)"
        " AND (end_date IS NULL OR end_date >= $2)",
        list(unit_ids),
        day,
    )
    return list(rows)
