"""SQL of the item bank (``items``) and of surveys and their versions (``surveys``,
``survey_versions``: a version is a serialized ``pulse.types.v1.SurveyDefinition``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg
from pulse_common.db import Connection

from pulse_survey.domain import ItemSpec

# -- item bank ---------------------------------------------------------------------------

_ITEM_LOCK = 0x5055_4C53_4954_4D  # serialises version numbering of one bank


async def lock_items(conn: Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _ITEM_LOCK)


async def seed_items(conn: Connection, specs: Sequence[ItemSpec]) -> None:
    """Version 1 of every item not yet in the bank."""
    await conn.executemany(
        "INSERT INTO items (item_id, item_version, construct, text, language, scale,"
        " reverse_scored, required) VALUES ($1, 1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT DO NOTHING",
        [
            (s.item_id, s.construct, s.text, s.language, s.scale, s.reverse_scored, s.required)
            for s in specs
        ],
    )


async def latest_items(conn: Connection | asyncpg.Pool) -> list[asyncpg.Record]:
    rows = await conn.fetch(
        "SELECT DISTINCT ON (item_id) * FROM items ORDER BY item_id, item_version DESC"
    )
    return list(rows)


async def insert_item(conn: Connection, spec: ItemSpec, version: int) -> None:
    await conn.execute(
        "INSERT INTO items (item_id, item_version, construct, text, language, scale,"
        " reverse_scored, required) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        spec.item_id,
        version,
        spec.construct,
        spec.text,
        spec.language,
        spec.scale,
        spec.reverse_scored,
        spec.required,
    )


# -- surveys -----------------------------------------------------------------------------


async def kind_of(
    conn: Connection, survey_id: uuid.UUID, *, for_update: bool = False
) -> int | None:
    query = "SELECT kind FROM surveys WHERE survey_id = $1" + (" FOR UPDATE" if for_update else "")
    kind: int | None = await conn.fetchval(query, survey_id)
    return kind


async def survey_for_update(conn: Connection, survey_id: uuid.UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM surveys WHERE survey_id = $1 FOR UPDATE", survey_id
    )
    return row


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


async def draft(conn: Connection, survey_id: uuid.UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM survey_versions WHERE survey_id = $1 AND status = 'draft'", survey_id
    )
    return row


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


async def published(
    conn: Connection | asyncpg.Pool, survey_id: uuid.UUID, version: int
) -> asyncpg.Record | None:
    """A published version (the latest when ``version`` is 0)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM survey_versions WHERE survey_id = $1 AND status = 'published'"
        " AND ($2 = 0 OR version = $2) ORDER BY version DESC LIMIT 1",
        survey_id,
        version,
    )
    return row


async def version_or_latest_published(
    pool: asyncpg.Pool, survey_id: uuid.UUID, version: int
) -> asyncpg.Record | None:
    """``version`` in any status, or the latest published one when ``version`` is 0."""
    row: asyncpg.Record | None = await pool.fetchrow(
        "SELECT * FROM survey_versions WHERE survey_id = $1 AND (($2 = 0 AND status = 'published')"
        " OR version = $2) ORDER BY version DESC LIMIT 1",
        survey_id,
        version,
    )
    return row


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


async def summaries(pool: asyncpg.Pool, kind: int) -> list[asyncpg.Record]:
    """Every survey (of ``kind``, 0 = any) with its latest version and that one's status."""
    rows = await pool.fetch(
        "SELECT s.survey_id, s.name, s.kind, v.version, v.status FROM surveys s"
        " JOIN LATERAL (SELECT version, status FROM survey_versions sv"
        "  WHERE sv.survey_id = s.survey_id ORDER BY version DESC LIMIT 1) v ON true"
        " WHERE $1 = 0 OR s.kind = $1 ORDER BY s.created_at, s.survey_id",
        kind,
    )
    return list(rows)
