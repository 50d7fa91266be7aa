"""SQL of the sufficient statistics: adding one response, reading them back for scores and
reports, the k each measure was promised, and the ingestion totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pulse_common.db import Connection
from pulse_common.measures import CUSTOMER, EMPLOYEE, INTERNAL

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
    """Add one response to every aggregate, in a few pipelined statements. Rows are touched
    in a fixed order (table, then key) so concurrent consumers cannot deadlock, and no row is
    shared by every response (totals are sums over agg_population), so responses for
    different cells commit in parallel."""
    await conn.execute(
        "INSERT INTO agg_population (unit_id, period, population, n) VALUES ($1, $2, $3, 1)"
        " ON CONFLICT (unit_id, period, population) DO UPDATE SET n = agg_population.n + 1",
        d.unit_id,
        d.period,
        d.population,
    )
    if d.constructs:
        await conn.executemany(
            "INSERT INTO agg_construct (unit_id, period, construct, population, n, sum, sumsq)"
            " VALUES ($1, $2, $3, $4, 1, $5, $5::float8 * $5::float8)"
            " ON CONFLICT (unit_id, period, construct) DO UPDATE SET n = agg_construct.n + 1,"
            " sum = agg_construct.sum + $5, sumsq = agg_construct.sumsq + $5::float8 * $5::float8",
            [(d.unit_id, d.period, c.construct, d.population, c.score) for c in d.constructs],
        )
    if d.items:
        rows = []
        for i in d.items:
            spec = i.item
            position = i.value - spec.scale_min + 1  # 1-based slot of the scale point
            counts = [0] * (spec.scale_max - spec.scale_min + 1)
            counts[position - 1] = 1
            rows.append(
                (
                    d.unit_id,
                    d.period,
                    spec.item_id,
                    spec.construct,
                    d.population,
                    spec.scale_min,
                    spec.scale_max,
                    float(i.value),
                    i.promoter,
                    i.passive,
                    i.detractor,
                    i.top2,
                    position,
                    counts,
                    float(i.value) * i.construct_score,
                )
            )
        await conn.executemany(
            "INSERT INTO agg_item (unit_id, period, item_id, construct, population, scale_min,"
            " scale_max, n, sum, sumsq, counts, promoters, passives, detractors, top2,"
            " n_xt, sum_xt)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8::float8 * $8::float8,"
            " $14::bigint[], $9, $10, $11, $12, 1, $15)"
            " ON CONFLICT (unit_id, period, item_id) DO UPDATE SET n = agg_item.n + 1,"
            " sum = agg_item.sum + $8, sumsq = agg_item.sumsq + $8::float8 * $8::float8,"
            " counts[$13::int] = agg_item.counts[$13::int] + 1,"
            " promoters = agg_item.promoters + $9, passives = agg_item.passives + $10,"
            " detractors = agg_item.detractors + $11, top2 = agg_item.top2 + $12,"
            " n_xt = agg_item.n_xt + 1, sum_xt = agg_item.sum_xt + $15",
            rows,
        )
    if d.population != EMPLOYEE:
        await conn.execute(
            "INSERT INTO agg_channel (unit_id, period, population, channel, n)"
            " VALUES ($1, $2, $3, $4, 1) ON CONFLICT (unit_id, period, population, channel)"
            " DO UPDATE SET n = agg_channel.n + 1",
            d.unit_id,
            d.period,
            d.population,
            d.channel or "unknown",
        )


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


def _period_filter(first: int, period_from: str, period_to: str) -> tuple[str, list[Any]]:
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
    where, args = _period_filter(1, period_from, period_to)
    if constructs is not None:
        where += f" AND construct = ANY(${len(args) + 1}::text[])"
        args.append(list(constructs))
    rows = await conn.fetch(
        "SELECT unit_id, period, construct, population, n, sum, sumsq FROM agg_construct"
        f" WHERE true{where}",
        *args,
    )
    return [
        ConstructRow(
            unit_id=r["unit_id"],
            period=r["period"],
            construct=r["construct"],
            population=r["population"],
            n=int(r["n"]),
            sum=float(r["sum"]),
            sumsq=float(r["sumsq"]),
        )
        for r in rows
    ]


async def item_rows(
    conn: Connection, period_from: str, period_to: str, constructs: Sequence[str]
) -> list[ItemRow]:
    where, args = _period_filter(2, period_from, period_to)
    rows = await conn.fetch(
        "SELECT unit_id, period, item_id, construct, scale_min, scale_max, n, sum, sumsq,"
        " promoters, passives, detractors, top2, n_xt, sum_xt FROM agg_item"
        f" WHERE construct = ANY($1::text[]){where}",
        list(constructs),
        *args,
    )
    return [
        ItemRow(
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
        for r in rows
    ]


async def channel_rows(
    conn: Connection, population: str, period_from: str, period_to: str
) -> list[ChannelRow]:
    where, args = _period_filter(2, period_from, period_to)
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


async def measure_ks(conn: Connection) -> dict[str, int]:
    """Per measure, the largest k promised by a survey version that fed it."""
    rows = await conn.fetch("SELECT measure, k FROM measure_min_k")
    return {r["measure"]: int(r["k"]) for r in rows}
