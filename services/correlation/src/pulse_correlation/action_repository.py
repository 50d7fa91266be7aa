"""SQL of the actions leaders record (returns ``ActionRecord``)."""

from __future__ import annotations

import uuid

import asyncpg
from pulse_common.db import Connection

from pulse_correlation.action_model import ActionRecord

_COLUMNS = "action_id, unit_id, measure, title, owner, start_date, outcome, created_at"


def _record(row: asyncpg.Record) -> ActionRecord:
    return ActionRecord(
        action_id=str(row["action_id"]),
        unit_id=row["unit_id"],
        measure=row["measure"],
        title=row["title"],
        owner=row["owner"],
        start_date=row["start_date"],
        outcome=row["outcome"],
        created_at=row["created_at"],
    )


async def insert(conn: Connection, action: ActionRecord) -> None:
    await conn.execute(
        f"INSERT INTO actions ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        uuid.UUID(action.action_id),
        action.unit_id,
        action.measure,
        action.title,
        action.owner,
        action.start_date,
        action.outcome,
        action.created_at,
    )


async def get(conn: Connection, action_id: uuid.UUID) -> ActionRecord | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM actions WHERE action_id = $1", action_id)
    return None if row is None else _record(row)


async def list_actions(conn: Connection, unit_id: str, limit: int) -> list[ActionRecord]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM actions WHERE ($1 = '' OR unit_id = $1)"
        " ORDER BY start_date DESC, created_at DESC LIMIT $2",
        unit_id,
        limit,
    )
    return [_record(row) for row in rows]


async def units_with_action(conn: Connection, measure: str) -> set[str]:
    """Units with any action on ``measure`` (never comparison units for it)."""
    rows = await conn.fetch("SELECT DISTINCT unit_id FROM actions WHERE measure = $1", measure)
    return {row["unit_id"] for row in rows}
