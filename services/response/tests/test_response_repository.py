"""Repository against real PostgreSQL: what is stored for a response, and what is not."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from pulse.types.v1 import types_pb2 as t
from pulse_common.db import apply_migrations, create_pool, load_migrations
from pulse_response import repository
from pulse_response.domain import ValidatedAnswers
from pulse_response.repository import NewResponse


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, "response")
    await apply_migrations(
        pool, "response", load_migrations("pulse_common") + load_migrations("pulse_response")
    )
    try:
        yield pool
    finally:
        await pool.close()


def response(kind: int, unit: str = "u1", **overrides: object) -> NewResponse:
    values: dict[str, object] = {
        "response_id": uuid.uuid4(),
        "survey_id": "s1",
        "survey_version": 1,
        "kind": kind,
        "unit_id": unit,
        "period": "2026-03",
        "wave_id": "w1",
        "channel": "call",
        "source": "live",
        "batch_id": "",
        "answers": ValidatedAnswers(
            scores=[("csat.1", 5), ("staff.1", 5)],
            comments=[("comment.1", "Great help")],
            positive=True,
            staff_treatment_score=5,
        ),
        "shared_with_team": True,
    }
    values.update(overrides)
    return NewResponse(**values)  # type: ignore[arg-type]


async def test_employee_rows_hold_no_identity_time_or_link(pool: asyncpg.Pool) -> None:
    async with repository.transaction(pool) as conn:
        assert await repository.insert_response(conn, response(t.SURVEY_KIND_EMPLOYEE_PULSE))
    columns = {
        (r["table_name"], r["column_name"]): r["data_type"]
        for r in await pool.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'response'"
        )
    }
    # No timestamps on responses or comments, no token or person, no link comment->response.
    for table in ("responses", "response_scores", "comments"):
        types = {dt for (tb, _), dt in columns.items() if tb == table}
        assert not any("time" in dt for dt in types), table
        names = {c for (tb, c), _ in columns.items() if tb == table}
        assert not names & {"token", "token_hash", "person", "employee_id", "created_at"}
    assert ("comments", "response_id") not in columns
    row = await pool.fetchrow("SELECT * FROM responses")
    assert row is not None
    assert row["channel"] == ""  # employee rows keep no channel
    comment = await pool.fetchrow("SELECT * FROM comments")
    assert comment is not None
    assert comment["shared_with_team"] is False
    assert comment["positive"] is False
    assert comment["staff_treatment_score"] == 0
    assert await pool.fetchval("SELECT count(*) FROM response_scores") == 2


async def test_customer_rows_keep_channel_and_consent(pool: asyncpg.Pool) -> None:
    async with repository.transaction(pool) as conn:
        await repository.insert_response(conn, response(t.SURVEY_KIND_CUSTOMER_POST_INTERACTION))
    assert await pool.fetchval("SELECT channel FROM responses") == "call"
    row = await pool.fetchrow("SELECT shared_with_team, positive FROM comments")
    assert row is not None
    assert (row["shared_with_team"], row["positive"]) == (True, True)


async def test_same_id_twice_writes_nothing_new(pool: asyncpg.Pool) -> None:
    first = response(t.SURVEY_KIND_EMPLOYEE_PULSE)
    async with repository.transaction(pool) as conn:
        assert await repository.insert_response(conn, first)
        assert not await repository.insert_response(conn, first)
    assert await pool.fetchval("SELECT count(*) FROM comments") == 1


async def test_counts_and_group_sizes(pool: asyncpg.Pool) -> None:
    async with repository.transaction(pool) as conn:
        for unit, n in (("a", 3), ("b", 6)):
            for _ in range(n):
                await repository.insert_response(conn, response(t.SURVEY_KIND_EMPLOYEE_PULSE, unit))
    counts, survey = await repository.counts_by_wave(pool, "w1")
    assert counts == [("a", 3), ("b", 6)]
    assert survey == "s1"
    assert await repository.counts_by_survey_period(pool, "s1", "2026-03") == counts
    assert await repository.group_size(pool, "s1", "b", "2026-03") == 6


async def test_definition_cache_keeps_first_copy(
    pool: asyncpg.Pool, employee_def: t.SurveyDefinition
) -> None:
    assert await repository.save_definition(pool, employee_def)
    changed = t.SurveyDefinition()
    changed.CopyFrom(employee_def)
    changed.name = "tampered"
    assert not await repository.save_definition(pool, changed)
    stored = await repository.get_definition(pool, employee_def.survey_id, 1)
    assert stored == employee_def
    assert await repository.survey_thresholds(pool, employee_def.survey_id) == (5, 10)
    assert await repository.get_definition(pool, employee_def.survey_id, 2) is None


async def test_idempotency_purge_by_coarse_date(pool: asyncpg.Pool) -> None:
    async with repository.transaction(pool) as conn:
        assert await repository.save_reply(conn, b"k1", b"reply")
        assert not await repository.save_reply(conn, b"k1", b"other")
    await pool.execute("UPDATE idempotency SET created_on = current_date - 30")
    assert await repository.purge_idempotency(pool, 7) == 1
    assert await repository.find_reply(pool, b"k1") is None
