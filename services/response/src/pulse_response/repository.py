"""SQL of what the response service writes: cached survey versions, responses with their
scores and comments, idempotency replies and import batches. Every function takes the
caller's connection (the use case owns the unit of work) and returns plain values or frozen
records, never rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg
from pulse.types.v1 import types_pb2
from pulse_common.measures import is_customer

from pulse_response.domain import NewResponse
from pulse_response.redact import storage_text


@dataclass(frozen=True)
class Thresholds:
    """The largest k and comment k any cached version of a survey declares (0 if none)."""

    min_group_size: int
    min_comment_group_size: int


# ---------------------------------------------------------------- survey versions


async def get_definition(
    conn: asyncpg.Connection, survey_id: str, version: int
) -> types_pb2.SurveyDefinition | None:
    raw = await conn.fetchval(
        "SELECT definition FROM survey_definitions WHERE survey_id = $1 AND version = $2",
        survey_id,
        version,
    )
    return None if raw is None else types_pb2.SurveyDefinition.FromString(bytes(raw))


async def save_definition(conn: asyncpg.Connection, definition: types_pb2.SurveyDefinition) -> bool:
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


async def survey_thresholds(conn: asyncpg.Connection, survey_id: str) -> Thresholds:
    row = await conn.fetchrow(
        "SELECT coalesce(max(min_group_size), 0) AS k,"
        " coalesce(max(min_comment_group_size), 0) AS ck"
        " FROM survey_definitions WHERE survey_id = $1",
        survey_id,
    )
    assert row is not None  # an aggregate always returns one row
    return Thresholds(int(row["k"]), int(row["ck"]))


# ---------------------------------------------------------------- idempotency


async def find_reply(conn: asyncpg.Connection, key_hash: bytes) -> bytes | None:
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


async def purge_idempotency(conn: asyncpg.Connection, older_than_days: int) -> int:
    result = await conn.execute(
        "DELETE FROM idempotency WHERE created_on < current_date - $1::int", older_than_days
    )
    return int(result.split()[-1])


# ---------------------------------------------------------------- responses


async def insert_response(conn: asyncpg.Connection, response: NewResponse) -> bool:
    """Insert the response, its scores and (unlinked, redacted: ``storage_text``) comments;
    False when the id exists
    (a re-imported row), in which case nothing is written."""
    customer = is_customer(response.kind)
    inserted = await conn.fetchval(
        "INSERT INTO responses (response_id, survey_id, survey_version, kind, unit_id, period,"
        " wave_id, channel, source, batch_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        " ON CONFLICT (response_id) DO NOTHING RETURNING true",
        response.response_id,
        response.survey_id,
        response.survey_version,
        response.kind,
        response.group.unit_id,
        response.group.period,
        response.wave_id,
        response.channel if customer else "",
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
                    response.group.unit_id,
                    response.group.period,
                    item_id,
                    storage_text(text),
                    customer and response.shared_with_team,
                    customer and response.answers.positive,
                    response.answers.staff_treatment_score if customer else 0,
                )
                for item_id, text in response.answers.comments
            ],
        )
    return True


async def set_moderation(conn: asyncpg.Connection, comment_id: str, status: str) -> None:
    """A team lead's decision on a shared praise comment."""
    await conn.execute(
        "UPDATE comments SET moderation = $2 WHERE comment_id = $1::uuid", comment_id, status
    )


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
