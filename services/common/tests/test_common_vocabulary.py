"""The shared vocabulary: periods, field rules, the measurement model and the unit of work."""

from __future__ import annotations

from datetime import date

import pytest
from pulse.types.v1 import types_pb2
from pulse_common import errors, fields, measures, periods
from pulse_common.db import create_pool
from pulse_common.uow import Database


@pytest.mark.parametrize(
    ("text", "granularity", "problem"),
    [
        ("2026-03", "month", None),
        ("2026-W11", "week", None),
        ("2026-W11", None, None),
        ("2026-W11", "month", "must be a month like 2026-03, got '2026-W11'"),
        ("2026-03", "week", "must be an ISO week like 2026-W11, got '2026-03'"),
        ("0000-01", "month", "year must be between 1970 and 2999, got '0000-01'"),
        (
            "2026-13",
            None,
            "must be a month like 2026-03 or an ISO week like 2026-W11, got '2026-13'",
        ),
        ("2021-W53", "week", "2021 has no ISO week 53"),
        ("2020-W53", "week", None),
        ("2026-03\x00", "month", "must be a month like 2026-03, got '2026-03\\x00'"),
    ],
)
def test_period_rules_have_one_wording(
    text: str, granularity: periods.Granularity | None, problem: str | None
) -> None:
    assert periods.period_problem(text, granularity) == problem
    if problem is not None:
        with pytest.raises(errors.InvalidArgument) as caught:
            periods.require_period("period", text, granularity)
        assert caught.value.field == "period"


def test_periods_order_shift_and_cover_their_days() -> None:
    week = periods.parse_period("2026-W01")
    assert (week.start, week.end) == (date(2025, 12, 29), date(2026, 1, 4))
    assert week.shift(-1).label == "2025-W52"
    assert periods.period_end("2024-02") == date(2024, 2, 29)
    assert periods.label_of(date(2021, 1, 1), "week") == "2020-W53"
    assert periods.periods_between("2025-11", "2026-02") == [
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
    ]
    assert periods.periods_back(date(2026, 3, 5), "month", 12) == ("2025-04", "2026-03")
    months = [periods.parse_period(p) for p in ("2026-01", "2025-12", "2026-02")]
    assert [p.label for p in sorted(months)] == ["2025-12", "2026-01", "2026-02"]
    assert periods.period_index("2026-01") - periods.period_index("2025-12") == 1
    with pytest.raises(errors.InvalidArgument):
        periods.require_range("from", "2026-03", "to", "2026-01", "month")


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: fields.require_unit_id("unit_id", "x" * 65), "unit_id"),
        (lambda: fields.require_unit_id("unit_id", "a b"), "unit_id"),
        (lambda: fields.require_name("name", "Team\x00A"), "name"),
        (lambda: fields.require_text("text", "ok\x00"), "text"),
        (lambda: fields.parse_date("opens_on", "9999-12-31"), "opens_on"),
        (lambda: fields.parse_date("opens_on", "2026-02-30"), "opens_on"),
        (lambda: fields.parse_timestamp("at", "2026-03-01T10:00:00"), "at"),
        (lambda: fields.require_email("email", "email: no"), "email"),
    ],
)
def test_field_rules_refuse_with_the_field_named(call: object, field: str) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        call()  # type: ignore[operator]
    assert caught.value.field == field


def test_field_rules_accept_clean_values() -> None:
    assert fields.require_unit_id("unit_id", "P-01.team_2") == "P-01.team_2"
    assert fields.require_name("name", "  Stores  ") == "Stores"
    assert fields.parse_date("d", "2026-03-31") == date(2026, 3, 31)
    assert fields.rfc3339(fields.parse_timestamp("at", "2026-03-01T10:00:00+01:00")) == (
        "2026-03-01T09:00:00Z"
    )


def test_measurement_model_comes_from_the_proto() -> None:
    assert measures.scale_range(types_pb2.SCALE_NPS_0_10) == (0, 10)
    assert measures.parse_kind("SURVEY_KIND_EMPLOYEE_PULSE") == types_pb2.SURVEY_KIND_EMPLOYEE_PULSE
    assert measures.kind_name(types_pb2.SURVEY_KIND_INTERNAL_SERVICE) == "internal_service"
    assert measures.population_of(types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION) == "customer"
    assert measures.population_of(99) is None
    assert measures.human_name("treatment.support") == "Manager support"
    assert measures.human_name("internal.csat") == "Customer satisfaction (CSAT), internal service"
    assert set(measures.OUTCOMES) >= {"csat", "internal.nps"}
    assert measures.REPORT_DEFAULTS.outcome in measures.OUTCOMES
    assert set(measures.REPORT_DEFAULTS.predictors) <= set(measures.PREDICTORS)
    assert "did you mean treatment.fairness?" in measures.close_matches(
        "treatment.fairnes", measures.PREDICTORS
    )
    # Every scale enum value the proto defines (but free text) has a range.
    rated = {
        v for n, v in types_pb2.Scale.items() if n not in ("SCALE_UNSPECIFIED", "SCALE_FREE_TEXT")
    }
    assert rated == set(measures.SCALE_RANGES)


async def _failing_use_case(db: Database) -> None:
    async with db.unit_of_work() as uow:
        await uow.conn.execute("INSERT INTO uow.t VALUES (1)")
        raise RuntimeError("use case failed")


async def _use_case_losing_its_connection(db: Database) -> None:
    async with db.unit_of_work() as uow:
        pid = await uow.conn.fetchval("SELECT pg_backend_pid()")
        async with db.connection() as other:
            await other.execute("SELECT pg_terminate_backend($1)", pid)
        await uow.conn.execute("SELECT 1")


async def test_unit_of_work_commits_notifies_and_rolls_back(database_url: str) -> None:
    pool = await create_pool(database_url, "uow")
    rings: list[int] = []
    db = Database(pool, lambda: rings.append(1))
    try:
        async with db.unit_of_work() as uow:
            await uow.conn.execute("CREATE SCHEMA IF NOT EXISTS uow")
            await uow.conn.execute("CREATE TABLE IF NOT EXISTS uow.t (n int)")
        assert rings == []  # nothing enqueued: the relay is not woken
        with pytest.raises(RuntimeError, match="use case failed"):
            await _failing_use_case(db)
        async with db.connection() as conn:
            assert await conn.fetchval("SELECT count(*) FROM uow.t") == 0
    finally:
        await pool.close()


async def test_unit_of_work_reports_a_lost_connection_as_unavailable(database_url: str) -> None:
    pool = await create_pool(database_url, "uow2")
    db = Database(pool)
    try:
        with pytest.raises(errors.Unavailable):
            await _use_case_losing_its_connection(db)
        async with db.unit_of_work() as uow:  # the pool recovers with a fresh connection
            assert await uow.conn.fetchval("SELECT 1") == 1
    finally:
        await pool.close()
