"""A batch of responses added in one statement per table (issue 20) leaves exactly the
aggregates that adding them one at a time leaves, in real PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import asyncpg
import pytest
from pulse_common.db import apply_migrations, create_pool, load_migrations
from pulse_common.measures import CUSTOMER, EMPLOYEE
from pulse_correlation import aggregate_repository as repo
from pulse_correlation.aggregate_merge import merge_deltas
from pulse_correlation.domain import ItemSpec, ResponseDeltas, score_response

EMPLOYEE_ITEMS = {
    "fair_1": ItemSpec("fair_1", "treatment.fairness", 1, 5, False),
    "fair_2": ItemSpec("fair_2", "treatment.fairness", 1, 5, True),
    "enps_1": ItemSpec("enps_1", "enps", 0, 10, False),
}
CUSTOMER_ITEMS = {
    "csat_1": ItemSpec("csat_1", "csat", 1, 5, False),
    "nps_1": ItemSpec("nps_1", "nps", 0, 10, False),
}
TABLES = {
    "agg_population": "unit_id, period, population",
    "agg_construct": "unit_id, period, construct",
    "agg_item": "unit_id, period, item_id",
    "agg_channel": "unit_id, period, population, channel",
}


def batch(rng: random.Random, size: int) -> list[ResponseDeltas]:
    """Responses over few cells, so many share an aggregate row within the batch."""
    out = []
    for _ in range(size):
        unit, period = rng.choice(["U1", "U2"]), rng.choice(["2025-01", "2025-02"])
        if rng.random() < 0.5:
            answers: list[tuple[str, int | None]] = [
                ("fair_1", rng.randint(1, 5)),
                ("fair_2", rng.randint(1, 5)),
                ("enps_1", rng.randint(0, 10)),
            ]
            out.append(score_response(EMPLOYEE, unit, period, "", answers, EMPLOYEE_ITEMS, "month"))
        else:
            answers = [("csat_1", rng.randint(1, 5)), ("nps_1", rng.randint(0, 10))]
            channel = rng.choice(["call", "chat", ""])
            out.append(
                score_response(CUSTOMER, unit, period, channel, answers, CUSTOMER_ITEMS, "month")
            )
    return out


@pytest.fixture
async def pools(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    made = []
    for schema in ("one_by_one", "batched"):
        pool = await create_pool(database_url, schema)
        await apply_migrations(pool, schema, load_migrations("pulse_correlation"))
        made.append(pool)
    yield made[0], made[1]
    for pool in made:
        await pool.close()


async def table(pool: asyncpg.Pool, name: str) -> list[dict[str, object]]:
    rows = await pool.fetch(f"SELECT * FROM {name} ORDER BY {TABLES[name]}")
    return [dict(r) for r in rows]


async def test_a_batch_adds_what_its_responses_add_one_by_one(
    pools: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    one_by_one, batched = pools
    rng = random.Random(7)
    for size in (1, 40, 40):  # the second and third batches update rows the first created
        responses = batch(rng, size)
        async with one_by_one.acquire() as conn, conn.transaction():
            for response in responses:
                await repo.apply_responses(conn, [response])
        async with batched.acquire() as conn, conn.transaction():
            await repo.apply_responses(conn, responses)
    for name in TABLES:
        want, got = await table(one_by_one, name), await table(batched, name)
        assert len(got) == len(want) > 0, name
        for w, g in zip(want, got, strict=True):
            assert g.keys() == w.keys()
            for column, value in w.items():
                if isinstance(value, float):
                    assert g[column] == pytest.approx(value, rel=1e-12), (name, column)
                else:
                    assert g[column] == value, (name, column)
    counts = await batched.fetch("SELECT counts, n FROM agg_item")
    assert all(sum(r["counts"]) == r["n"] for r in counts)


def test_merge_sums_a_cell_once() -> None:
    rng = random.Random(3)
    responses = batch(rng, 50)
    merged = merge_deltas(responses)
    assert sum(merged.population.values()) == 50
    assert len(merged.population) <= 2 * 2 * 2  # units x periods x populations
    nps = [v for (_, _, item), v in merged.items.items() if item == "nps_1"]
    assert sum(v.promoters + v.passives + v.detractors for v in nps) == sum(v.n for v in nps)
