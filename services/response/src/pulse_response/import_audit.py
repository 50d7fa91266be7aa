"""SQL of the import audit: one row per import or refused attempt (``ImportRecord``), and
the periods that already hold responses of a survey kind (the import rule's input)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import asyncpg

IMPORTED, DRY_RUN, REFUSED = "imported", "dry_run", "refused"


@dataclass(frozen=True)
class ImportRecord:
    batch_id: str
    survey_id: str
    survey_version: int
    source_name: str
    accepted: int
    imported_by: str
    unit_ids: tuple[str, ...]
    periods: tuple[str, ...]
    outcome: str
    reason: str = ""
    imported_at: datetime | None = None  # set by the database


async def record(conn: asyncpg.Connection, entry: ImportRecord) -> None:
    await conn.execute(
        "INSERT INTO import_audit (audit_id, batch_id, survey_id, survey_version, source_name,"
        " accepted, imported_by, unit_ids, periods, outcome, reason)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        uuid.uuid4(),
        entry.batch_id,
        entry.survey_id,
        entry.survey_version,
        entry.source_name,
        entry.accepted,
        entry.imported_by,
        list(entry.unit_ids),
        list(entry.periods),
        entry.outcome,
        entry.reason,
    )


async def newest(conn: asyncpg.Connection, limit: int) -> list[ImportRecord]:
    rows = await conn.fetch(
        "SELECT batch_id, survey_id, survey_version, source_name, accepted, imported_by,"
        " unit_ids, periods, outcome, reason, imported_at FROM import_audit"
        " ORDER BY imported_at DESC, audit_id LIMIT $1",
        limit,
    )
    return [
        ImportRecord(
            batch_id=r["batch_id"],
            survey_id=r["survey_id"],
            survey_version=r["survey_version"],
            source_name=r["source_name"],
            accepted=r["accepted"],
            imported_by=r["imported_by"],
            unit_ids=tuple(r["unit_ids"]),
            periods=tuple(r["periods"]),
            outcome=r["outcome"],
            reason=r["reason"],
            imported_at=r["imported_at"],
        )
        for r in rows
    ]


async def periods_held(
    conn: asyncpg.Connection, kind: int, periods: Collection[str], batch_id: str
) -> list[str]:
    """Which of ``periods`` already hold responses of ``kind`` not written by ``batch_id``."""
    rows = await conn.fetch(
        "SELECT DISTINCT period FROM responses WHERE kind = $1 AND period = ANY($2::text[])"
        " AND batch_id <> $3 ORDER BY period",
        kind,
        list(periods),
        batch_id,
    )
    return [str(r["period"]) for r in rows]
