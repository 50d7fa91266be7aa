"""SQL of the sufficient statistics: adding one response, reading them back for scores and
reports, the k each measure was promised, and the ingestion totals."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from pulse_common.db import Connection
from pulse_common.measures import CUSTOMER, EMPLOYEE, INTERNAL

from pulse_correlation.aggregate_merge import merge_deltas
from pulse_correlation.aggregates import ChannelRow, ConstructRow, ItemRow
from pulse_correlation.domain import ResponseDeltas


@dataclass(frozen=True)
class IngestionStats:
    """Field names are those of ``pb.GetIngestionStatsResponse``."""

    responses_counted: int
    employee_responses: int
    customer_responses: int
    internal_service_responses: int
    messages_processed: int
    surveys_known: int
    units_known: int


async def apply_response(conn: Connection, d: ResponseDeltas) -> None:
    """Add one response to every aggregate (``apply_responses`` of one)."""
    await apply_responses(conn, [d])


async def apply_responses(conn: Connection, batch: Sequence[ResponseDeltas]) -> None:
    """Add responses to every aggregate: the batch is first summed per aggregate row
    (``merge_deltas``), then each table gets one ``INSERT ... SELECT FROM unnest ... ON
    CONFLICT DO UPDATE`` adding those sums. Rows are inserted in key order (every
    statement's input is sorted) so concurrent consumers cannot deadlock, and no row is
    shared by every response (totals are sums over agg_population), so batches for
    different cells commit in parallel."""
    if not batch:
        return
    m = merge_deltas(batch)
    pop = sorted(m.population.items())
    await conn.execute(
        "INSERT INTO agg_population (unit_id, period, population, n)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])"
        " ON CONFLICT (unit_id, period, population) DO UPDATE"
        " SET n = agg_population.n + EXCLUDED.n",
        *_columns([(*k, n) for k, n in pop], 4),
    )
    cons = sorted(m.constructs.items())
    if cons:
        await conn.execute(
            "INSERT INTO agg_construct (unit_id, period, construct, population, n, sum, sumsq)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],"
            " $6::float8[], $7::float8[])"
            " ON CONFLICT (unit_id, period, construct) DO UPDATE SET"
            " n = agg_construct.n + EXCLUDED.n, sum = agg_construct.sum + EXCLUDED.sum,"
            " sumsq = agg_construct.sumsq + EXCLUDED.sumsq",
            *_columns([(*k, *v.row()) for k, v in cons], 7),
        )
    items = sorted(m.items.items())
    if items:
        rows = [(*k, *v.row()) for k, v in items]
        await conn.execute(
            "INSERT INTO agg_item (unit_id, period, item_id, construct, population, scale_min,"
            " scale_max, n, sum, sumsq, promoters, passives, detractors, top2, n_xt, sum_xt,"
            " counts)"
            " SELECT u, p, i, c, pop, lo, hi, n, s, ss, pr, pa, de, t2, nx, sx, cs::bigint[]"
            " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
            " $6::int[], $7::int[], $8::bigint[], $9::float8[], $10::float8[], $11::bigint[],"
            " $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::float8[],"
            " $17::text[]) AS t(u, p, i, c, pop, lo, hi, n, s, ss, pr, pa, de, t2, nx, sx, cs)"
            " ON CONFLICT (unit_id, period, item_id) DO UPDATE SET"
            " n = agg_item.n + EXCLUDED.n, sum = agg_item.sum + EXCLUDED.sum,"
            " sumsq = agg_item.sumsq + EXCLUDED.sumsq,"
            " counts = ARRAY(SELECT a + b FROM unnest(agg_item.counts, EXCLUDED.counts)"
            "  WITH ORDINALITY AS x(a, b, o) ORDER BY o),"
            " promoters = agg_item.promoters + EXCLUDED.promoters,"
            " passives = agg_item.passives + EXCLUDED.passives,"
            " detractors = agg_item.detractors + EXCLUDED.detractors,"
            " top2 = agg_item.top2 + EXCLUDED.top2, n_xt = agg_item.n_xt + EXCLUDED.n_xt,"
            " sum_xt = agg_item.sum_xt + EXCLUDED.sum_xt",
            *_columns(rows, 17),
        )
    channels = sorted(m.channels.items())
    if channels:
        await conn.execute(
            "INSERT INTO agg_channel (unit_id, period, population, channel, n)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])"
            " ON CONFLICT (unit_id, period, population, channel) DO UPDATE"
            " SET n = agg_channel.n + EXCLUDED.n",
            *_columns([(*k, n) for k, n in channels], 5),
        )


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """Row tuples as ``width`` column lists (the arrays ``unnest`` zips back)."""
    return [[row[c] for row in rows] for c in range(width)]


async def ingestion_stats(conn: Connection) -> IngestionStats:
    """Totals: responses per population are the sums of the per-cell counts."""
    rows = await conn.fetch("SELECT population, sum(n) AS n FROM agg_population GROUP BY 1")
    responses = {r["population"]: int(r["n"]) for r in rows}
    return IngestionStats(
        responses_counted=sum(responses.values()),
        employee_responses=responses.get(EMPLOYEE, 0),
        customer_responses=responses.get(CUSTOMER, 0),
        internal_service_responses=responses.get(INTERNAL, 0),
        messages_processed=int(await conn.fetchval("SELECT count(*) FROM processed_messages")),
        surveys_known=int(await conn.fetchval("SELECT count(*) FROM surveys")),
        units_known=int(await conn.fetchval("SELECT count(DISTINCT unit_id) FROM org_units")),
    )


# ---------------------------------------------------------------- reading


def period_filter(first: int, period_from: str, period_to: str) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if period_from:
        clauses.append(f"period >= ${first + len(args)}")
        args.append(period_from)
    if period_to:
        clauses.append(f"period <= ${first + len(args)}")
        args.append(period_to)
    return (" AND " + " AND ".join(clauses) if clauses else ""), args


async def construct_rows(
    conn: Connection, period_from: str, period_to: str, constructs: Sequence[str] | None
) -> list[ConstructRow]:
    """Construct rows of the range (every construct when ``constructs`` is None)."""
    where, args = period_filter(1, period_from, period_to)
    if constructs is not None:
        where += f" AND construct = ANY(${len(args) + 1}::text[])"
        args.append(list(constructs))
    rows = await conn.fetch(
        "SELECT unit_id, period, construct, population, n, sum, sumsq FROM agg_construct"
        f" WHERE true{where}",
        *args,
    )
    return [construct_row(r) for r in rows]


def construct_row(r: asyncpg.Record) -> ConstructRow:
    """A construct row from a record with its columns (live or frozen table)."""
    return ConstructRow(
        unit_id=r["unit_id"],
        period=r["period"],
        construct=r["construct"],
        population=r["population"],
        n=int(r["n"]),
        sum=float(r["sum"]),
        sumsq=float(r["sumsq"]),
    )


@dataclass(frozen=True)
class Presence:
    """A construct with data for a unit in a period range."""

    unit_id: str
    construct: str
    population: str


async def live_periods(conn: Connection, period_from: str, period_to: str) -> list[str]:
    """The periods of the range with data, in order: a loose index scan (one probe of
    ``agg_population_period`` per period), so it costs the same at any number of cells."""
    stop = " AND p.period < $2" if period_to else ""
    rows = await conn.fetch(
        "WITH RECURSIVE p(period) AS ("
        " SELECT min(period) FROM agg_population WHERE period >= $1"
        " UNION ALL"
        " SELECT (SELECT min(a.period) FROM agg_population a WHERE a.period > p.period)"
        f" FROM p WHERE p.period IS NOT NULL{stop})"
        " SELECT period FROM p WHERE period IS NOT NULL"
        + (" AND period <= $2" if period_to else ""),
        period_from,
        *([period_to] if period_to else []),
    )
    return [r["period"] for r in rows]


async def construct_presence(conn: Connection, periods: Sequence[str]) -> list[Presence]:
    """Which units have which constructs in ``periods``: one row per (unit, construct)."""
    if not periods:
        return []
    rows = await conn.fetch(
        "SELECT DISTINCT unit_id, construct, population FROM agg_construct"
        " WHERE period = ANY($1::text[])",
        list(periods),
    )
    return [Presence(r["unit_id"], r["construct"], r["population"]) for r in rows]


async def item_rows(
    conn: Connection, period_from: str, period_to: str, constructs: Sequence[str]
) -> list[ItemRow]:
    where, args = period_filter(2, period_from, period_to)
    rows = await conn.fetch(
        "SELECT unit_id, period, item_id, construct, scale_min, scale_max, n, sum, sumsq,"
        " promoters, passives, detractors, top2, n_xt, sum_xt FROM agg_item"
        f" WHERE construct = ANY($1::text[]){where}",
        list(constructs),
        *args,
    )
    return [item_row(r) for r in rows]


def item_row(r: asyncpg.Record) -> ItemRow:
    """An item row from a record with its columns (live or frozen table)."""
    return ItemRow(
        unit_id=r["unit_id"],
        period=r["period"],
        item_id=r["item_id"],
        construct=r["construct"],
        scale_min=r["scale_min"],
        scale_max=r["scale_max"],
        n=int(r["n"]),
        sum=float(r["sum"]),
        sumsq=float(r["sumsq"]),
        promoters=int(r["promoters"]),
        passives=int(r["passives"]),
        detractors=int(r["detractors"]),
        top2=int(r["top2"]),
        n_xt=int(r["n_xt"]),
        sum_xt=float(r["sum_xt"]),
    )


async def channel_rows(
    conn: Connection, population: str, period_from: str, period_to: str
) -> list[ChannelRow]:
    where, args = period_filter(2, period_from, period_to)
    rows = await conn.fetch(
        f"SELECT unit_id, period, channel, n FROM agg_channel WHERE population = $1{where}",
        population,
        *args,
    )
    return [ChannelRow(r["unit_id"], r["period"], r["channel"], int(r["n"])) for r in rows]


# ---------------------------------------------------------------- k per measure


async def raise_measure_k(conn: Connection, measures: Sequence[str], k: int) -> None:
    """Record that answers promised ``k`` feed ``measures`` (keeps the largest k)."""
    await conn.executemany(
        "INSERT INTO measure_min_k (measure, k) VALUES ($1, $2) ON CONFLICT (measure)"
        " DO UPDATE SET k = EXCLUDED.k WHERE measure_min_k.k < EXCLUDED.k",
        [(m, k) for m in sorted(measures)],
    )


async def raise_measure_ks(conn: Connection, pairs: Collection[tuple[str, int]]) -> None:
    """``raise_measure_k`` for several (measure, k) pairs, in measure order."""
    await conn.executemany(
        "INSERT INTO measure_min_k (measure, k) VALUES ($1, $2) ON CONFLICT (measure)"
        " DO UPDATE SET k = EXCLUDED.k WHERE measure_min_k.k < EXCLUDED.k",
        sorted(pairs),
    )


async def measure_ks(conn: Connection) -> dict[str, int]:
    """Per measure, the largest k promised by a survey version that fed it."""
    rows = await conn.fetch("SELECT measure, k FROM measure_min_k")
    return {r["measure"]: int(r["k"]) for r in rows}
