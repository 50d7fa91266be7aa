"""Repository against real PostgreSQL: what is stored for a response, and what is not."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from pulse.types.v1 import types_pb2 as t
from pulse_common.db import apply_migrations, create_pool, load_migrations
from pulse_common.uow import Database
from pulse_response import read_repository, repository
from pulse_response.domain import Group, NewResponse, UnitCount, ValidatedAnswers
from pulse_response.repository import Thresholds


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


@pytest.fixture
def db(pool: asyncpg.Pool) -> Database:
    return Database(pool)


def response(kind: int, unit: str = "u1", **overrides: object) -> NewResponse:
    values: dict[str, object] = {
        "response_id": uuid.uuid4(),
        "survey_id": "s1",
        "survey_version": 1,
        "kind": kind,
        "group": Group(unit, "2026-03"),
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


async def test_employee_rows_hold_no_identity_time_or_link(
    pool: asyncpg.Pool, db: Database
) -> None:
    async with db.unit_of_work() as uow:
        assert await repository.insert_response(uow.conn, response(t.SURVEY_KIND_EMPLOYEE_PULSE))
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


async def test_customer_rows_keep_channel_and_consent(pool: asyncpg.Pool, db: Database) -> None:
    async with db.unit_of_work() as uow:
        await repository.insert_response(
            uow.conn, response(t.SURVEY_KIND_CUSTOMER_POST_INTERACTION)
        )
    assert await pool.fetchval("SELECT channel FROM responses") == "call"
    row = await pool.fetchrow("SELECT shared_with_team, positive FROM comments")
    assert row is not None
    assert (row["shared_with_team"], row["positive"]) == (True, True)


async def test_same_id_twice_writes_nothing_new(pool: asyncpg.Pool, db: Database) -> None:
    first = response(t.SURVEY_KIND_EMPLOYEE_PULSE)
    async with db.unit_of_work() as uow:
        assert await repository.insert_response(uow.conn, first)
        assert not await repository.insert_response(uow.conn, first)
    assert await pool.fetchval("SELECT count(*) FROM comments") == 1


async def test_counts_and_group_sizes(db: Database) -> None:
    async with db.unit_of_work() as uow:
        for unit, n in (("a", 3), ("b", 6)):
            for _ in range(n):
                await repository.insert_response(
                    uow.conn, response(t.SURVEY_KIND_EMPLOYEE_PULSE, unit)
                )
    async with db.connection() as conn:
        by_wave = await read_repository.counts_by_wave(conn, "w1")
        assert by_wave.units == [UnitCount("a", 3), UnitCount("b", 6)]
        assert by_wave.survey_id == "s1"
        assert await read_repository.counts_by_wave(conn, "w2") == read_repository.WaveCounts(
            "", []
        )
        by_period = await read_repository.counts_by_survey_period(conn, "s1", "2026-03")
        assert by_period == by_wave.units
        assert await read_repository.group_size(conn, "s1", Group("b", "2026-03")) == 6


async def test_definition_cache_keeps_first_copy(
    db: Database, employee_def: t.SurveyDefinition
) -> None:
    async with db.connection() as conn:
        assert await repository.save_definition(conn, employee_def)
        changed = t.SurveyDefinition()
        changed.CopyFrom(employee_def)
        changed.name = "tampered"
        assert not await repository.save_definition(conn, changed)
        stored = await repository.get_definition(conn, employee_def.survey_id, 1)
        assert stored == employee_def
        assert await repository.survey_thresholds(conn, employee_def.survey_id) == Thresholds(5, 10)
        assert await repository.survey_thresholds(conn, "unknown") == Thresholds(0, 0)
        assert await repository.get_definition(conn, employee_def.survey_id, 2) is None


async def test_idempotency_purge_by_coarse_date(pool: asyncpg.Pool, db: Database) -> None:
    async with db.unit_of_work() as uow:
        assert await repository.save_reply(uow.conn, b"k1", b"reply")
        assert not await repository.save_reply(uow.conn, b"k1", b"other")
        assert await repository.save_reply(uow.conn, b"k2", b"recent")
    await pool.execute(
        "UPDATE idempotency SET created_on = current_date - 30 WHERE key_hash = 'k1'"
    )
    async with db.unit_of_work() as uow:
        assert await repository.find_reply(uow.conn, b"k1") == b"reply"
        assert await repository.purge_idempotency(uow.conn, 7) == 1
        assert await repository.find_reply(uow.conn, b"k1") is None
        assert await repository.find_reply(uow.conn, b"k2") == b"recent"
