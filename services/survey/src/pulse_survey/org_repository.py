"""SQL of the dated org hierarchy (table ``org_versions``; ``valid_to`` is exclusive)."""

from __future__ import annotations

from datetime import date

import asyncpg
from pulse_common.db import Connection

from pulse_survey.caches import Span
from pulse_survey.domain import UnitVersion

# Org writes are serialised: cycle checks and version numbering need a stable picture.
_ORG_LOCK = 0x5055_4C53_4F52_47  # "PULSORG"


def _version(row: asyncpg.Record) -> UnitVersion:
    return UnitVersion(
        unit_id=row["unit_id"],
        name=row["name"],
        parent_id=row["parent_id"] or "",
        unit_type=row["unit_type"],
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
    )


async def lock_org(conn: Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _ORG_LOCK)


async def versions_on(conn: Connection, day: date) -> dict[str, UnitVersion]:
    """The version of every unit valid on ``day`` (depth not set)."""
    rows = await conn.fetch(
        "SELECT * FROM org_versions WHERE valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1)",
        day,
    )
    return {row["unit_id"]: _version(row) for row in rows}


async def spans(conn: Connection) -> dict[str, list[Span]]:
    """When each unit existed: every version's dates (what the interaction cache keeps)."""
    found: dict[str, list[Span]] = {}
    for row in await conn.fetch("SELECT unit_id, valid_from, valid_to FROM org_versions"):
        found.setdefault(row["unit_id"], []).append(Span(row["valid_from"], row["valid_to"]))
    return found


async def existed_on(conn: Connection, unit_id: str, day: date) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM org_versions WHERE unit_id = $1 AND valid_from <= $2"
            " AND (valid_to IS NULL OR valid_to > $2))",
            unit_id,
            day,
        )
    )


async def latest(conn: Connection, unit_id: str) -> UnitVersion | None:
    row = await conn.fetchrow(
        "SELECT * FROM org_versions WHERE unit_id = $1 ORDER BY valid_from DESC LIMIT 1", unit_id
    )
    return None if row is None else _version(row)


async def insert(conn: Connection, unit: UnitVersion, change: str) -> None:
    await conn.execute(
        "INSERT INTO org_versions (unit_id, valid_from, valid_to, name, parent_id, unit_type,"
        " change, org_version) VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, 0)",
        unit.unit_id,
        unit.valid_from,
        unit.valid_to,
        unit.name,
        unit.parent_id,
        unit.unit_type,
        change,
    )


async def rewrite(conn: Connection, current: UnitVersion, changed: UnitVersion) -> None:
    """Overwrite the attributes of the version starting ``current.valid_from``."""
    await conn.execute(
        "UPDATE org_versions SET name = $3, parent_id = NULLIF($4, ''), unit_type = $5"
        " WHERE unit_id = $1 AND valid_from = $2",
        current.unit_id,
        current.valid_from,
        changed.name,
        changed.parent_id,
        changed.unit_type,
    )


async def close(conn: Connection, unit: UnitVersion, valid_to: date) -> None:
    await conn.execute(
        "UPDATE org_versions SET valid_to = $3 WHERE unit_id = $1 AND valid_from = $2",
        unit.unit_id,
        unit.valid_from,
        valid_to,
    )


async def stamp_change(conn: Connection, unit: UnitVersion, change: str, merged_into: str) -> int:
    """Give the version the next org version number and record what changed."""
    org_version = int(await conn.fetchval("SELECT nextval('org_version_seq')"))
    await conn.execute(
        "UPDATE org_versions SET org_version = $3, change = $4, merged_into = NULLIF($5, '')"
        " WHERE unit_id = $1 AND valid_from = $2",
        unit.unit_id,
        unit.valid_from,
        org_version,
        change,
        merged_into,
    )
    return org_version
