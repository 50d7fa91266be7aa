"""What a report reads to find its periods and scope (issue 20), against real PostgreSQL:
the loose index scan gives exactly the periods a full DISTINCT gives, whatever the bounds;
scope and default predictors come from the released periods as frozen plus the periods not
released yet, so an answer arriving after its period was released changes neither."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import AsyncIterator

import asyncpg
import pytest
from pulse_common.db import Connection, apply_migrations, create_pool, load_migrations
from pulse_correlation import aggregate_repository as aggregates_repo
from pulse_correlation.access import Viewer
from pulse_correlation.aggregates import ConstructRow
from pulse_correlation.org import OrgSnapshot, UnitInfo, UnitVersion
from pulse_correlation.releases import FrozenPeriod
from pulse_correlation.report_data import load_report_data
from pulse_correlation.report_model import Options, ReportRequest

TODAY = dt.date(2026, 12, 6)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, "correlation")
    await apply_migrations(
        pool,
        "correlation",
        load_migrations("pulse_common") + load_migrations("pulse_correlation"),
    )
    try:
        yield pool
    finally:
        await pool.close()


async def add_cells(conn: Connection, cells: list[tuple[str, str, str, str]]) -> None:
    await conn.executemany(
        "INSERT INTO agg_population (unit_id, period, population, n) VALUES ($1, $2, $3, 5)"
        " ON CONFLICT DO NOTHING",
        [(u, p, pop) for u, p, _, pop in cells],
    )
    await conn.executemany(
        "INSERT INTO agg_construct (unit_id, period, construct, population, n, sum, sumsq)"
        " VALUES ($1, $2, $3, $4, 5, 250, 12500) ON CONFLICT DO NOTHING",
        cells,
    )


async def test_live_periods_are_those_a_full_scan_finds(pool: asyncpg.Pool) -> None:
    rng = random.Random(20)
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    with_data = sorted(rng.sample(months, 7))
    cells = [(f"u{u}", p, "treatment.support", "employee") for p in with_data for u in range(30)]
    async with pool.acquire() as conn:
        await add_cells(conn, cells)
        bounds = [("", ""), ("2025-03", ""), ("", "2025-08"), ("2025-02", "2025-09")]
        bounds += [(with_data[1], with_data[1]), ("2025-13", ""), ("", "2024-12")]
        for low, high in bounds:
            where, args = aggregates_repo.period_filter(1, low, high)
            full = await conn.fetch(
                f"SELECT DISTINCT period FROM agg_population WHERE true{where} ORDER BY 1",
                *args,
            )
            found = await aggregates_repo.live_periods(conn, low, high)
            assert found == [r["period"] for r in full], (low, high)
        assert await aggregates_repo.live_periods(conn, "", "") == with_data


def frozen_period(period: str, units: list[str], constructs: list[str]) -> FrozenPeriod:
    org = OrgSnapshot({u: UnitInfo(u, "root", u, "team") for u in units}, {})
    rows = [
        ConstructRow(u, period, c, "employee", 5, 250.0, 12500.0) for u in units for c in constructs
    ]
    return FrozenPeriod(period, org, rows, [])


def version(unit_id: str, parent_id: str) -> UnitVersion:
    return UnitVersion(
        unit_id, dt.date(2020, 1, 1), None, parent_id, unit_id, "team", "created", "", 1
    )


async def test_scope_and_default_predictors_come_from_released_periods(
    pool: asyncpg.Pool,
) -> None:
    versions = [version("root", ""), *(version(u, "root") for u in ("a", "b", "c"))]
    released = frozen_period("2025-01", ["a", "b"], ["treatment.support"])
    request = ReportRequest(
        viewer=Viewer("leader", ""),
        predictors=(),
        outcome="csat",
        max_lag=0,
        period_from="2025-01",
        period_to="2025-02",
        scope_unit_id="",
        covariates=(),
        options=Options(0, 0, 0.95, "pearson", 1),
    )
    async with pool.acquire() as conn:
        # A late answer in the released January (unit c, a new construct) and February's
        # data, not released yet.
        await add_cells(
            conn,
            [
                ("c", "2025-01", "treatment.growth", "employee"),
                ("b", "2025-02", "treatment.voice", "employee"),
            ],
        )
        data = await load_report_data(conn, request, TODAY, versions, [released])
    assert data.employee_constructs == {"treatment.support", "treatment.voice"}
    assert data.measures.predictors == ["treatment.support", "treatment.voice"]
