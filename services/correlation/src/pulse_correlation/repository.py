"""SQL of the correlation schema. Functions take a connection so callers own transactions."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
from pulse.types.v1 import types_pb2

from pulse_correlation.confidentiality import Group
from pulse_correlation.domain import EMPLOYEE, ResponseDeltas
from pulse_correlation.org import UnitVersion

Conn = asyncpg.Connection | asyncpg.Pool


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection inside one transaction (typed as a plain connection)."""
    async with pool.acquire() as proxy:
        conn = cast(asyncpg.Connection, proxy)
        async with conn.transaction():
            yield conn


# ---------------------------------------------------------------- surveys and org


async def save_survey(conn: asyncpg.Connection, definition: types_pb2.SurveyDefinition) -> None:
    await conn.execute(
        "INSERT INTO surveys (survey_id, version, kind, definition) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (survey_id, version) DO NOTHING",
        definition.survey_id,
        definition.version,
        int(definition.kind),
        definition.SerializeToString(),
    )


async def get_survey(conn: Conn, survey_id: str, version: int) -> types_pb2.SurveyDefinition | None:
    raw = await conn.fetchval(
        "SELECT definition FROM surveys WHERE survey_id = $1 AND version = $2",
        survey_id,
        version,
    )
    if raw is None:
        return None
    definition = types_pb2.SurveyDefinition()
    definition.ParseFromString(bytes(raw))
    return definition


async def save_unit_version(conn: asyncpg.Connection, v: UnitVersion) -> None:
    """Idempotent; a higher org_version replaces the stored version for the same date."""
    await conn.execute(
        "INSERT INTO org_units (unit_id, valid_from, valid_to, parent_id, name, unit_type,"
        " change, merged_into, org_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (unit_id, valid_from) DO UPDATE SET valid_to = EXCLUDED.valid_to,"
        " parent_id = EXCLUDED.parent_id, name = EXCLUDED.name, unit_type = EXCLUDED.unit_type,"
        " change = EXCLUDED.change, merged_into = EXCLUDED.merged_into,"
        " org_version = EXCLUDED.org_version"
        " WHERE org_units.org_version < EXCLUDED.org_version",
        v.unit_id,
        v.valid_from,
        v.valid_to,
        v.parent_id,
        v.name,
        v.unit_type,
        v.change,
        v.merged_into,
        v.org_version,
    )


async def load_org(conn: Conn) -> list[UnitVersion]:
    rows = await conn.fetch("SELECT * FROM org_units")
    return [
        UnitVersion(
            r["unit_id"],
            r["valid_from"],
            r["valid_to"],
            r["parent_id"],
            r["name"],
            r["unit_type"],
            r["change"],
            r["merged_into"],
            r["org_version"],
        )
        for r in rows
    ]


# ---------------------------------------------------------------- ingestion


async def apply_response(conn: asyncpg.Connection, d: ResponseDeltas) -> None:
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
                )
            )
        await conn.executemany(
            "INSERT INTO agg_item (unit_id, period, item_id, construct, population, scale_min,"
            " scale_max, n, sum, sumsq, counts, promoters, passives, detractors, top2)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8::float8 * $8::float8,"
            " $14::bigint[], $9, $10, $11, $12)"
            " ON CONFLICT (unit_id, period, item_id) DO UPDATE SET n = agg_item.n + 1,"
            " sum = agg_item.sum + $8, sumsq = agg_item.sumsq + $8::float8 * $8::float8,"
            " counts[$13::int] = agg_item.counts[$13::int] + 1,"
            " promoters = agg_item.promoters + $9, passives = agg_item.passives + $10,"
            " detractors = agg_item.detractors + $11, top2 = agg_item.top2 + $12",
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


async def ingestion_stats(conn: Conn) -> dict[str, int]:
    """Totals: responses per population are the sums of the per-cell counts."""
    rows = await conn.fetch("SELECT population, sum(n) AS n FROM agg_population GROUP BY 1")
    stats = {f"{r['population']}_responses": int(r["n"]) for r in rows}
    stats["responses_counted"] = sum(stats.values())
    stats["messages_processed"] = int(
        await conn.fetchval("SELECT count(*) FROM processed_messages")
    )
    stats["surveys_known"] = int(await conn.fetchval("SELECT count(*) FROM surveys"))
    stats["units_known"] = int(await conn.fetchval("SELECT count(DISTINCT unit_id) FROM org_units"))
    return stats


# ---------------------------------------------------------------- aggregates for reading


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


@dataclass(frozen=True)
class ConstructRow:
    unit_id: str
    period: str
    construct: str
    population: str
    n: int
    sum: float
    sumsq: float


@dataclass(frozen=True)
class ItemRow:
    unit_id: str
    period: str
    item_id: str
    construct: str
    scale_min: int
    scale_max: int
    n: int
    sum: float
    sumsq: float
    promoters: int
    passives: int
    detractors: int
    top2: int


async def construct_rows(
    conn: Conn, period_from: str, period_to: str, constructs: Sequence[str] | None
) -> list[ConstructRow]:
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
            r["unit_id"],
            r["period"],
            r["construct"],
            r["population"],
            int(r["n"]),
            float(r["sum"]),
            float(r["sumsq"]),
        )
        for r in rows
    ]


async def item_rows(
    conn: Conn, period_from: str, period_to: str, constructs: Sequence[str]
) -> list[ItemRow]:
    where, args = _period_filter(2, period_from, period_to)
    rows = await conn.fetch(
        "SELECT unit_id, period, item_id, construct, scale_min, scale_max, n, sum, sumsq,"
        " promoters, passives, detractors, top2 FROM agg_item"
        f" WHERE construct = ANY($1::text[]){where}",
        list(constructs),
        *args,
    )
    return [
        ItemRow(
            r["unit_id"],
            r["period"],
            r["item_id"],
            r["construct"],
            r["scale_min"],
            r["scale_max"],
            int(r["n"]),
            float(r["sum"]),
            float(r["sumsq"]),
            int(r["promoters"]),
            int(r["passives"]),
            int(r["detractors"]),
            int(r["top2"]),
        )
        for r in rows
    ]


async def channel_rows(
    conn: Conn, population: str, period_from: str, period_to: str
) -> list[tuple[str, str, str, int]]:
    where, args = _period_filter(2, period_from, period_to)
    rows = await conn.fetch(
        f"SELECT unit_id, period, channel, n FROM agg_channel WHERE population = $1{where}",
        population,
        *args,
    )
    return [(r["unit_id"], r["period"], r["channel"], int(r["n"])) for r in rows]


async def raise_measure_k(conn: asyncpg.Connection, measures: Sequence[str], k: int) -> None:
    """Record that answers promised ``k`` feed ``measures`` (keeps the largest k)."""
    await conn.executemany(
        "INSERT INTO measure_min_k (measure, k) VALUES ($1, $2) ON CONFLICT (measure)"
        " DO UPDATE SET k = EXCLUDED.k WHERE measure_min_k.k < EXCLUDED.k",
        [(m, k) for m in sorted(measures)],
    )


async def measure_ks(conn: Conn) -> dict[str, int]:
    """Per measure, the largest k promised by a survey version that fed it."""
    rows = await conn.fetch("SELECT measure, k FROM measure_min_k")
    return {r["measure"]: int(r["k"]) for r in rows}


# ---------------------------------------------------------------- differencing ledger


async def lock_viewer(conn: asyncpg.Connection, viewer_id: str) -> None:
    """Serialise releases to one viewer (held until the transaction ends)."""
    key = int.from_bytes(hashlib.sha256(f"viewer:{viewer_id}".encode()).digest()[:8], "big")
    await conn.execute("SELECT pg_advisory_xact_lock($1)", key - (1 << 63))


async def released_groups(
    conn: asyncpg.Connection, viewer_id: str, measures: Iterable[str]
) -> list[Group]:
    rows = await conn.fetch(
        "SELECT measure, cells, cell_counts FROM released_groups"
        " WHERE viewer_id = $1 AND measure = ANY($2::text[]) ORDER BY id",
        viewer_id,
        sorted(set(measures)),
    )
    return [
        Group(r["measure"], dict(zip(r["cells"], map(int, r["cell_counts"]), strict=True)))
        for r in rows
    ]


async def record_groups(
    conn: asyncpg.Connection, viewer_id: str, groups: Iterable[Group], source: str
) -> None:
    """Remember released groups (a repeat of the same cells and counts is stored once)."""
    rows = []
    for g in groups:
        cells = g.cells
        counts = [g.counts[c] for c in cells]
        digest = hashlib.sha256(f"{g.member_hash}:{counts}".encode()).hexdigest()
        rows.append((viewer_id, g.measure, digest, cells, counts, g.n, source))
    await conn.executemany(
        "INSERT INTO released_groups (viewer_id, measure, member_hash, cells, cell_counts, n,"
        " source) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (viewer_id, measure, member_hash) DO NOTHING",
        rows,
    )


# ---------------------------------------------------------------- reports


async def insert_report(
    conn: asyncpg.Connection,
    *,
    report_id: uuid.UUID,
    viewer_id: str,
    viewer_scope: str,
    scope_unit_id: str,
    outcome: str,
    verdict_level: str,
    units_reported: int,
    created_at: dt.datetime,
    code_version: str,
    inputs: dict[str, Any],
    report_json: str,
    report_pb: bytes,
) -> None:
    await conn.execute(
        "INSERT INTO reports (report_id, viewer_id, viewer_scope, scope_unit_id, outcome,"
        " verdict_level, units_reported, created_at, code_version, inputs, report_json,"
        " report_pb) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12)",
        report_id,
        viewer_id,
        viewer_scope,
        scope_unit_id,
        outcome,
        verdict_level,
        units_reported,
        created_at,
        code_version,
        json.dumps(inputs),
        report_json,
        report_pb,
    )


async def get_report(conn: Conn, report_id: uuid.UUID, viewer_id: str) -> bytes | None:
    raw = await conn.fetchval(
        "SELECT report_pb FROM reports WHERE report_id = $1 AND viewer_id = $2",
        report_id,
        viewer_id,
    )
    return None if raw is None else bytes(raw)


async def list_reports(conn: Conn, viewer_id: str, limit: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT report_id, created_at, scope_unit_id, outcome, verdict_level, units_reported"
        " FROM reports WHERE viewer_id = $1 ORDER BY created_at DESC, report_id LIMIT $2",
        viewer_id,
        limit,
    )
    return rows
