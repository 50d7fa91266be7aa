"""SQL of the dated "serves" links (internal customers); returns ``ServesLink`` records."""

from __future__ import annotations

from datetime import date

import asyncpg
from pulse_common.db import Connection

from pulse_survey.serves_link import ServesLink

_COLUMNS = "serving_unit_id, served_unit_id, valid_from, valid_to"


def _link(row: asyncpg.Record) -> ServesLink:
    return ServesLink(
        row["serving_unit_id"], row["served_unit_id"], row["valid_from"], row["valid_to"]
    )


async def links_of_pair(conn: Connection, serving: str, served: str) -> list[ServesLink]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM serves WHERE serving_unit_id = $1 AND served_unit_id = $2",
        serving,
        served,
    )
    return [_link(row) for row in rows]


async def upsert(conn: Connection, link: ServesLink) -> None:
    await conn.execute(
        f"INSERT INTO serves ({_COLUMNS}) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (serving_unit_id, served_unit_id, valid_from)"
        " DO UPDATE SET valid_to = EXCLUDED.valid_to",
        link.serving_unit_id,
        link.served_unit_id,
        link.valid_from,
        link.valid_to,
    )


async def list_links(conn: Connection, as_of: date | None, serving: str) -> list[ServesLink]:
    """Links holding on ``as_of`` (every link when None), optionally of one serving unit."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM serves"
        " WHERE ($1::date IS NULL OR (valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1)))"
        " AND ($2 = '' OR serving_unit_id = $2)"
        " ORDER BY serving_unit_id, served_unit_id, valid_from",
        as_of,
        serving,
    )
    return [_link(row) for row in rows]
