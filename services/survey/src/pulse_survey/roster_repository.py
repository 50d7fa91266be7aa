"""SQL of the roster (table ``people``): employees only as HMAC pseudonyms, with the email
that invitations are delivered to."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import asyncpg
from pulse_common.db import Connection

from pulse_survey.roster_plan import Person

_COLUMNS = "pseudonym, email, unit_id, start_date, end_date, active, language"


def _person(row: asyncpg.Record) -> Person:
    return Person(
        pseudonym=row["pseudonym"],
        email=row["email"],
        unit_id=row["unit_id"],
        start_date=row["start_date"],
        end_date=row["end_date"],
        active=row["active"],
        language=row["language"],
    )


async def all_people(conn: Connection) -> dict[str, Person]:
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM people")
    return {row["pseudonym"]: _person(row) for row in rows}


async def upsert(conn: Connection, people: Sequence[Person]) -> None:
    """Create or update people; a person in the file is active again."""
    await conn.executemany(
        f"INSERT INTO people ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, true, $6)"
        " ON CONFLICT (pseudonym) DO UPDATE SET"
        " email = EXCLUDED.email, unit_id = EXCLUDED.unit_id,"
        " start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date, active = true,"
        " language = EXCLUDED.language, updated_at = now()",
        [(p.pseudonym, p.email, p.unit_id, p.start_date, p.end_date, p.language) for p in people],
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


async def active_in(conn: Connection, unit_ids: Sequence[str], day: date) -> list[Person]:
    """Active people of ``unit_ids`` employed on ``day``."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM people WHERE active AND unit_id = ANY($1)"
        " AND (start_date IS NULL OR start_date <= $2)"
        " AND (end_date IS NULL OR end_date >= $2)",
        list(unit_ids),
        day,
    )
    return [_person(row) for row in rows]
