"""SQL of surveys and their versions (``surveys``, ``survey_versions``: a version is a
serialized ``pulse.types.v1.SurveyDefinition``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from pulse_common.db import Connection

from pulse_survey.domain import Summary


@dataclass(frozen=True)
class StoredVersion:
    """One version of a survey: its serialized definition, status and rated unit."""

    version: int
    status: str
    definition: bytes
    rated_unit_id: str  # "" unless an internal service survey


def _stored(row: asyncpg.Record | None) -> StoredVersion | None:
    if row is None:
        return None
    return StoredVersion(
        version=row["version"],
        status=row["status"],
        definition=bytes(row["definition"]),
        rated_unit_id=row["rated_unit_id"] or "",
    )


async def kind_of(
    conn: Connection, survey_id: uuid.UUID, *, for_update: bool = False
) -> int | None:
    query = "SELECT kind FROM surveys WHERE survey_id = $1" + (" FOR UPDATE" if for_update else "")
    kind: int | None = await conn.fetchval(query, survey_id)
    return kind


async def insert_survey(conn: Connection, survey_id: uuid.UUID, name: str, kind: int) -> None:
    await conn.execute(
        "INSERT INTO surveys (survey_id, name, kind) VALUES ($1, $2, $3)", survey_id, name, kind
    )


async def rename_survey(conn: Connection, survey_id: uuid.UUID, name: str) -> None:
    await conn.execute("UPDATE surveys SET name = $2 WHERE survey_id = $1", survey_id, name)


async def draft_version(conn: Connection, survey_id: uuid.UUID) -> int | None:
    version: int | None = await conn.fetchval(
        "SELECT version FROM survey_versions WHERE survey_id = $1 AND status = 'draft'",
        survey_id,
    )
    return version


async def next_version(conn: Connection, survey_id: uuid.UUID) -> int:
    return int(
        await conn.fetchval(
            "SELECT coalesce(max(version), 0) + 1 FROM survey_versions WHERE survey_id = $1",
            survey_id,
        )
    )


async def save_draft(
    conn: Connection, survey_id: uuid.UUID, version: int, definition: bytes, rated_unit_id: str
) -> None:
    await conn.execute(
        "INSERT INTO survey_versions (survey_id, version, status, definition, rated_unit_id)"
        " VALUES ($1, $2, 'draft', $3, NULLIF($4, '')) ON CONFLICT (survey_id, version)"
        " DO UPDATE SET definition = EXCLUDED.definition,"
        " rated_unit_id = EXCLUDED.rated_unit_id",
        survey_id,
        version,
        definition,
        rated_unit_id,
    )


async def draft(conn: Connection, survey_id: uuid.UUID) -> StoredVersion | None:
    return _stored(
        await conn.fetchrow(
            "SELECT * FROM survey_versions WHERE survey_id = $1 AND status = 'draft'", survey_id
        )
    )


async def mark_published(
    conn: Connection, survey_id: uuid.UUID, version: int, definition: bytes, at: datetime
) -> None:
    await conn.execute(
        "UPDATE survey_versions SET status = 'published', definition = $3, published_at = $4"
        " WHERE survey_id = $1 AND version = $2",
        survey_id,
        version,
        definition,
        at,
    )


async def published(conn: Connection, survey_id: uuid.UUID, version: int) -> StoredVersion | None:
    """A published version (the latest when ``version`` is 0)."""
    return _stored(
        await conn.fetchrow(
            "SELECT * FROM survey_versions WHERE survey_id = $1 AND status = 'published'"
            " AND ($2 = 0 OR version = $2) ORDER BY version DESC LIMIT 1",
            survey_id,
            version,
        )
    )


async def version_or_latest_published(
    conn: Connection, survey_id: uuid.UUID, version: int
) -> StoredVersion | None:
    """``version`` in any status, or the latest published one when ``version`` is 0."""
    return _stored(
        await conn.fetchrow(
            "SELECT * FROM survey_versions WHERE survey_id = $1"
            " AND (($2 = 0 AND status = 'published') OR version = $2)"
            " ORDER BY version DESC LIMIT 1",
            survey_id,
            version,
        )
    )


_LATEST_PUBLISHED = (
    "(SELECT max(p.version) FROM survey_versions p"
    " WHERE p.survey_id = s.survey_id AND p.status = 'published')"
)


async def kind_and_published_version(
    conn: Connection, survey_id: uuid.UUID
) -> tuple[int, int | None] | None:
    """A survey's kind and its latest published version (None: none published yet);
    None when there is no such survey."""
    row = await conn.fetchrow(
        f"SELECT s.kind, {_LATEST_PUBLISHED} AS version FROM surveys s WHERE s.survey_id = $1",
        survey_id,
    )
    return None if row is None else (row["kind"], row["version"])


async def latest_published_version_of_kind(
    conn: Connection, kind: int
) -> tuple[uuid.UUID, int] | None:
    """The survey of ``kind`` published last, with its latest published version."""
    row = await conn.fetchrow(
        f"SELECT s.survey_id, {_LATEST_PUBLISHED} AS version FROM survey_versions v"
        " JOIN surveys s USING (survey_id) WHERE s.kind = $1 AND v.status = 'published'"
        " ORDER BY v.published_at DESC LIMIT 1",
        kind,
    )
    return None if row is None else (row["survey_id"], row["version"])


async def summaries(conn: Connection, kind: int) -> list[Summary]:
    """Every survey (of ``kind``, 0 = any) with its latest version and that one's status."""
    rows = await conn.fetch(
        "SELECT s.survey_id, s.name, s.kind, v.version, v.status FROM surveys s"
        " JOIN LATERAL (SELECT version, status FROM survey_versions sv"
        "  WHERE sv.survey_id = s.survey_id ORDER BY version DESC LIMIT 1) v ON true"
        " WHERE $1 = 0 OR s.kind = $1 ORDER BY s.created_at, s.survey_id",
        kind,
    )
    return [
        Summary(str(r["survey_id"]), r["name"], r["kind"], r["status"], r["version"]) for r in rows
    ]
