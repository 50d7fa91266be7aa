"""SQL of the response service. Every function takes the caller's connection so the
service decides the transaction boundaries."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import cast

import asyncpg
from pulse.types.v1 import types_pb2

from pulse_response.domain import ValidatedAnswers, is_customer

Conn = asyncpg.Connection | asyncpg.Pool


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection inside one transaction (typed as a plain connection)."""
    async with pool.acquire() as proxy:
        conn = cast(asyncpg.Connection, proxy)
        async with conn.transaction():
            yield conn


@dataclass(frozen=True)
class NewResponse:
    response_id: uuid.UUID
    survey_id: str
    survey_version: int
    kind: int
    unit_id: str
    period: str
    wave_id: str
    channel: str
    source: str
    batch_id: str
    answers: ValidatedAnswers
    shared_with_team: bool


@dataclass(frozen=True)
class StoredComment:
    item_id: str
    text: str


@dataclass(frozen=True)
class RecognitionRow:
    unit_id: str
    period: str
    text: str
    staff_treatment_score: int


def idempotency_hash(key: str) -> bytes:
    return hashlib.sha256(f"idem:{key}".encode()).digest()


async def get_definition(
    conn: Conn, survey_id: str, version: int
) -> types_pb2.SurveyDefinition | None:
    raw = await conn.fetchval(
        "SELECT definition FROM survey_definitions WHERE survey_id = $1 AND version = $2",
        survey_id,
        version,
    )
    if raw is None:
        return None
    definition = types_pb2.SurveyDefinition()
    definition.ParseFromString(bytes(raw))
    return definition


async def save_definition(conn: Conn, definition: types_pb2.SurveyDefinition) -> bool:
    """Published versions are immutable: the first copy stored wins."""
    inserted = await conn.fetchval(
        "INSERT INTO survey_definitions"
        " (survey_id, version, kind, min_group_size, min_comment_group_size, definition)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING true",
        definition.survey_id,
        definition.version,
        int(definition.kind),
        definition.min_group_size,
        definition.min_comment_group_size,
        definition.SerializeToString(deterministic=True),
    )
    return bool(inserted)


async def survey_thresholds(conn: Conn, survey_id: str) -> tuple[int, int]:
    """The largest (k, comment k) any cached version of the survey declares (0 if none)."""
    row = await conn.fetchrow(
        "SELECT coalesce(max(min_group_size), 0) AS k,"
        " coalesce(max(min_comment_group_size), 0) AS ck"
        " FROM survey_definitions WHERE survey_id = $1",
        survey_id,
    )
    assert row is not None
    return int(row["k"]), int(row["ck"])


async def find_reply(conn: Conn, key_hash: bytes) -> bytes | None:
    raw = await conn.fetchval("SELECT reply FROM idempotency WHERE key_hash = $1", key_hash)
    return None if raw is None else bytes(raw)


async def lock_idempotency_key(conn: asyncpg.Connection, key_hash: bytes) -> None:
    """Serialise concurrent submits of one key until the transaction ends."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1)", int.from_bytes(key_hash[:8], "big", signed=True)
    )


async def save_reply(conn: asyncpg.Connection, key_hash: bytes, reply: bytes) -> bool:
    inserted = await conn.fetchval(
        "INSERT INTO idempotency (key_hash, reply) VALUES ($1, $2)"
        " ON CONFLICT (key_hash) DO NOTHING RETURNING true",
        key_hash,
        reply,
    )
    return bool(inserted)


async def purge_idempotency(conn: Conn, older_than_days: int) -> int:
    result = await conn.execute(
        "DELETE FROM idempotency WHERE created_on < current_date - $1::int", older_than_days
    )
    return int(result.split()[-1])


async def insert_response(conn: asyncpg.Connection, response: NewResponse) -> bool:
    """Insert the response, its scores and (unlinked) comments; False when the id exists
    (a re-imported row), in which case nothing is written."""
    inserted = await conn.fetchval(
        "INSERT INTO responses (response_id, survey_id, survey_version, kind, unit_id, period,"
        " wave_id, channel, source, batch_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        " ON CONFLICT (response_id) DO NOTHING RETURNING true",
        response.response_id,
        response.survey_id,
        response.survey_version,
        response.kind,
        response.unit_id,
        response.period,
        response.wave_id,
        response.channel if is_customer(response.kind) else "",
        response.source,
        response.batch_id,
    )
    if not inserted:
        return False
    if response.answers.scores:
        await conn.executemany(
            "INSERT INTO response_scores (response_id, item_id, score) VALUES ($1, $2, $3)",
            [(response.response_id, item, score) for item, score in response.answers.scores],
        )
    customer = is_customer(response.kind)
    if response.answers.comments:
        await conn.executemany(
            "INSERT INTO comments (comment_id, survey_id, kind, unit_id, period, item_id, text,"
            " shared_with_team, positive, staff_treatment_score)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            [
                (
                    uuid.uuid4(),
                    response.survey_id,
                    response.kind,
                    response.unit_id,
                    response.period,
                    item_id,
                    text,
                    customer and response.shared_with_team,
                    customer and response.answers.positive,
                    response.answers.staff_treatment_score if customer else 0,
                )
                for item_id, text in response.answers.comments
            ],
        )
    return True


async def counts_by_wave(conn: Conn, wave_id: str) -> tuple[list[tuple[str, int]], str]:
    """(unit, responses) of a wave, and the survey it belongs to."""
    rows = await conn.fetch(
        "SELECT unit_id, count(*) AS n, min(survey_id) AS survey_id FROM responses"
        " WHERE wave_id = $1 GROUP BY unit_id ORDER BY unit_id",
        wave_id,
    )
    survey_id = str(rows[0]["survey_id"]) if rows else ""
    return [(str(r["unit_id"]), int(r["n"])) for r in rows], survey_id


async def counts_by_survey_period(conn: Conn, survey_id: str, period: str) -> list[tuple[str, int]]:
    rows = await conn.fetch(
        "SELECT unit_id, count(*) AS n FROM responses WHERE survey_id = $1 AND period = $2"
        " GROUP BY unit_id ORDER BY unit_id",
        survey_id,
        period,
    )
    return [(str(r["unit_id"]), int(r["n"])) for r in rows]


async def group_size(conn: Conn, survey_id: str, unit_id: str, period: str) -> int:
    value = await conn.fetchval(
        "SELECT count(*) FROM responses WHERE survey_id = $1 AND unit_id = $2 AND period = $3",
        survey_id,
        unit_id,
        period,
    )
    return int(value)


async def comments_of_group(
    conn: Conn, survey_id: str, unit_id: str, period: str
) -> list[StoredComment]:
    # Ordered by text, not by insertion, so the order reveals nothing about who wrote first.
    rows = await conn.fetch(
        "SELECT item_id, text FROM comments WHERE survey_id = $1 AND unit_id = $2"
        " AND period = $3 ORDER BY item_id, text",
        survey_id,
        unit_id,
        period,
    )
    return [StoredComment(str(r["item_id"]), str(r["text"])) for r in rows]


async def customer_counts_by_group(
    conn: Conn, unit_ids: list[str] | None, period_from: str, period_to: str
) -> dict[tuple[str, str], int]:
    """Customer responses per (unit, period) in the range, for the given units (None: all)."""
    rows = await conn.fetch(
        "SELECT unit_id, period, count(*) AS n FROM responses WHERE kind = $1"
        " AND period >= $2 AND period <= $3"
        " AND ($4::text[] IS NULL OR unit_id = ANY($4::text[]))"
        " GROUP BY unit_id, period",
        int(types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION),
        period_from,
        period_to,
        unit_ids,
    )
    return {(str(r["unit_id"]), str(r["period"])): int(r["n"]) for r in rows}


async def recognition_comments(
    conn: Conn, groups: list[tuple[str, str]], limit: int
) -> list[RecognitionRow]:
    """Consented praise from the given (unit, period) groups, newest period first."""
    if not groups:
        return []
    rows = await conn.fetch(
        "SELECT c.unit_id, c.period, c.text, c.staff_treatment_score FROM comments c"
        " JOIN unnest($1::text[], $2::text[]) AS g(unit_id, period)"
        " ON c.unit_id = g.unit_id AND c.period = g.period"
        " WHERE c.shared_with_team AND c.positive"
        " ORDER BY c.period DESC, c.unit_id, c.text LIMIT $3",
        [unit for unit, _ in groups],
        [period for _, period in groups],
        limit,
    )
    return [
        RecognitionRow(
            str(r["unit_id"]), str(r["period"]), str(r["text"]), int(r["staff_treatment_score"])
        )
        for r in rows
    ]


async def record_batch(
    conn: asyncpg.Connection,
    batch_id: str,
    survey_id: str,
    survey_version: int,
    source_name: str,
    accepted: int,
) -> None:
    await conn.execute(
        "INSERT INTO import_batches (batch_id, survey_id, survey_version, source_name, accepted)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (batch_id) DO NOTHING",
        batch_id,
        survey_id,
        survey_version,
        source_name,
        accepted,
    )
