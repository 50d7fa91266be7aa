"""SQL of deterministic releases: freezing a period once it has ended, and reading the frozen
copies (see ``releases`` and migration 0010).

A period is frozen on its release day (``releases.ReleaseRule``) by the service's background
task (``freeze_due``), or by the first read on or after that day if the task has not run yet:
its aggregate rows, the org as of its last day and the k of every measure are copied in one
transaction, under a per-period advisory lock, so concurrent freezes (reads, tasks of several
instances) freeze it once. Nothing later changes a frozen period: late arrivals stay in the
live aggregates only. The waves of each period (``release_waves``, from the survey service's
wave events) decide the release day of employee numbers."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from pulse_common.db import Connection
from pulse_common.periods import period_end

from pulse_correlation.aggregate_repository import (
    construct_row,
    item_row,
    live_periods,
    period_filter,
)
from pulse_correlation.aggregates import ChannelRow
from pulse_correlation.dashboard_cache import FROZEN_KEPT, ReadCache
from pulse_correlation.org import OrgSnapshot, UnitInfo, UnitVersion, snapshot
from pulse_correlation.releases import FrozenPeriod, ReleaseRule, WaveState


async def _lock_period(conn: Connection, period: str) -> None:
    digest = hashlib.sha256(f"release:{period}".encode()).digest()[:8]
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1)", int.from_bytes(digest, "big") - (1 << 63)
    )


async def frozen_periods(conn: Connection, period_from: str, period_to: str) -> list[str]:
    where, args = period_filter(1, period_from, period_to)
    rows = await conn.fetch(f"SELECT period FROM release_periods WHERE true{where}", *args)
    return sorted(r["period"] for r in rows)


async def record_wave(
    conn: Connection,
    wave_id: str,
    period: str,
    opened_on: dt.date | None,
    closed_on: dt.date | None,
) -> None:
    """A wave of ``period`` opened (``closed_on`` None) or closed (``opened_on`` None);
    idempotent, and what is known is kept whatever order the two events come in."""
    await conn.execute(
        "INSERT INTO release_waves (wave_id, period, opened_on, closed_on)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (wave_id) DO UPDATE SET"
        " opened_on = COALESCE(release_waves.opened_on, EXCLUDED.opened_on),"
        " closed_on = COALESCE(release_waves.closed_on, EXCLUDED.closed_on)",
        wave_id,
        period,
        opened_on,
        closed_on,
    )


async def due_periods(
    conn: Connection, period_from: str, period_to: str, rule: ReleaseRule, today: dt.date
) -> tuple[list[str], list[str]]:
    """(every frozen period of the range, the periods with data that are released by
    ``today`` and not frozen yet)."""
    live = await live_periods(conn, period_from, period_to)
    frozen = await frozen_periods(conn, period_from, period_to)
    waiting = sorted(set(live) - set(frozen))
    waves: dict[str, list[WaveState]] = {p: [] for p in waiting}
    for r in await conn.fetch(
        "SELECT period, opened_on, closed_on FROM release_waves WHERE period = ANY($1::text[])",
        waiting,
    ):
        waves[r["period"]].append(WaveState(r["opened_on"], r["closed_on"]))
    return frozen, [p for p in waiting if rule.released(p, waves[p], today)]


async def freeze_ended(
    conn: Connection,
    period_from: str,
    period_to: str,
    versions: Sequence[UnitVersion],
    today: dt.date,
    rule: ReleaseRule,
) -> tuple[list[str], set[str]]:
    """Freeze every period of the range that has data, is released (``rule``) and is not
    frozen yet (a read's fallback when the background task has not run yet); return every
    frozen period of the range (for reads) and those this transaction froze."""
    frozen, due = await due_periods(conn, period_from, period_to, rule, today)
    fresh: set[str] = set()
    for period in due:
        if await _freeze_once(conn, period, versions, today):
            fresh.add(period)
    return sorted({*frozen, *due}), fresh


async def freeze_due(
    conn: Connection,
    rule: ReleaseRule,
    today: dt.date,
    load_versions: Callable[[Connection], Awaitable[Sequence[UnitVersion]]],
) -> list[str]:
    """The background task's pass: freeze every period released by ``today`` and not frozen
    yet (the org is loaded only when there is one); the periods this pass froze."""
    _, due = await due_periods(conn, "", "", rule, today)
    if not due:
        return []
    versions = await load_versions(conn)
    return [p for p in due if await _freeze_once(conn, p, versions, today)]


async def cached_frozen(
    conn: Connection, cache: ReadCache, periods: Sequence[str], fresh: set[str]
) -> list[FrozenPeriod]:
    """The frozen periods, from the process's cache when known. Periods frozen by the
    current transaction (``fresh``) are not kept: it may still roll back."""
    missing = [p for p in periods if p not in cache.frozen]
    loaded = {f.period: f for f in await load_frozen(conn, missing, None, items=True)}
    found = [loaded[p] if p in loaded else cache.frozen[p] for p in periods]
    for period in periods:
        if period in loaded and period not in fresh:
            cache.frozen[period] = loaded[period]
        if period in cache.frozen:
            cache.frozen.move_to_end(period)
    while len(cache.frozen) > FROZEN_KEPT:
        cache.frozen.popitem(last=False)
    return found


def keep_frozen(cache: ReadCache, frozen: Sequence[FrozenPeriod], fresh: set[str]) -> None:
    """After the transaction that froze ``fresh`` has committed: keep those periods in the
    process's cache too, so the next read does not load them again."""
    for f in frozen:
        if f.period in fresh and f.period not in cache.frozen:
            cache.frozen[f.period] = f
    while len(cache.frozen) > FROZEN_KEPT:
        cache.frozen.popitem(last=False)


async def _freeze_once(
    conn: Connection, period: str, versions: Sequence[UnitVersion], today: dt.date
) -> bool:
    """Freeze ``period`` unless another transaction just did; whether this one did."""
    await _lock_period(conn, period)
    if await conn.fetchval("SELECT 1 FROM release_periods WHERE period = $1", period):
        return False
    await _freeze(conn, period, versions, today)
    return True


async def _freeze(
    conn: Connection, period: str, versions: Sequence[UnitVersion], today: dt.date
) -> None:
    await conn.execute(
        "INSERT INTO release_construct (unit_id, period, construct, population, n, sum, sumsq)"
        " SELECT unit_id, period, construct, population, n, sum, sumsq FROM agg_construct"
        " WHERE period = $1",
        period,
    )
    await conn.execute(
        "INSERT INTO release_item (unit_id, period, item_id, construct, population, scale_min,"
        " scale_max, n, sum, sumsq, counts, promoters, passives, detractors, top2, n_xt, sum_xt)"
        " SELECT unit_id, period, item_id, construct, population, scale_min, scale_max, n, sum,"
        " sumsq, counts, promoters, passives, detractors, top2, n_xt, sum_xt FROM agg_item"
        " WHERE period = $1",
        period,
    )
    await conn.execute(
        "INSERT INTO release_channel (unit_id, period, population, channel, n)"
        " SELECT unit_id, period, population, channel, n FROM agg_channel WHERE period = $1",
        period,
    )
    await conn.execute(
        "INSERT INTO release_k (period, measure, k) SELECT $1, measure, k FROM measure_min_k",
        period,
    )
    data_units = [
        r["unit_id"]
        for r in await conn.fetch(
            "SELECT DISTINCT unit_id FROM agg_population WHERE period = $1", period
        )
    ]
    org = snapshot(versions, period_end(period))
    org = org.with_units(org.canonical(u) for u in data_units)
    rows = [(period, u.unit_id, u.parent_id, u.name, u.unit_type, "") for u in org.units.values()]
    rows += [(period, unit, "", "", "", into) for unit, into in org.merged.items()]
    await conn.executemany(
        "INSERT INTO release_org (period, unit_id, parent_id, name, unit_type, merged_into)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        rows,
    )
    await conn.execute(
        "INSERT INTO release_periods (period, released_on) VALUES ($1, $2)", period, today
    )


async def load_frozen(
    conn: Connection, periods: Iterable[str], constructs: Sequence[str] | None, items: bool
) -> list[FrozenPeriod]:
    """The frozen periods (rows of ``constructs``, every construct when None; item rows of
    the same constructs when ``items``)."""
    wanted = sorted(set(periods))
    if not wanted:
        return []
    construct_filter = "" if constructs is None else " AND construct = ANY($2::text[])"
    extra: list[Any] = [] if constructs is None else [list(constructs)]
    construct_rows = await conn.fetch(
        "SELECT unit_id, period, construct, population, n, sum, sumsq FROM release_construct"
        f" WHERE period = ANY($1::text[]){construct_filter}",
        wanted,
        *extra,
    )
    item_rows = (
        await conn.fetch(
            "SELECT unit_id, period, item_id, construct, scale_min, scale_max, n, sum, sumsq,"
            " promoters, passives, detractors, top2, n_xt, sum_xt FROM release_item"
            f" WHERE period = ANY($1::text[]){construct_filter}",
            wanted,
            *extra,
        )
        if items
        else []
    )
    org_rows = await conn.fetch(
        "SELECT period, unit_id, parent_id, name, unit_type, merged_into FROM release_org"
        " WHERE period = ANY($1::text[])",
        wanted,
    )
    k_rows = await conn.fetch(
        "SELECT period, measure, k FROM release_k WHERE period = ANY($1::text[])", wanted
    )
    units: dict[str, dict[str, UnitInfo]] = {p: {} for p in wanted}
    merged: dict[str, dict[str, str]] = {p: {} for p in wanted}
    for r in org_rows:
        if r["merged_into"]:
            merged[r["period"]][r["unit_id"]] = r["merged_into"]
        else:
            units[r["period"]][r["unit_id"]] = UnitInfo(
                r["unit_id"], r["parent_id"], r["name"], r["unit_type"]
            )
    found = {p: FrozenPeriod(p, OrgSnapshot(units[p], merged[p]), [], [], {}) for p in wanted}
    for r in k_rows:
        found[r["period"]].measure_k[r["measure"]] = int(r["k"])
    for r in construct_rows:
        found[r["period"]].rows.append(construct_row(r))
    for r in item_rows:
        found[r["period"]].items.append(item_row(r))
    return [found[p] for p in wanted]


async def frozen_channels(
    conn: Connection, population: str, periods: Iterable[str]
) -> list[ChannelRow]:
    rows = await conn.fetch(
        "SELECT unit_id, period, channel, n FROM release_channel"
        " WHERE population = $1 AND period = ANY($2::text[])",
        population,
        sorted(set(periods)),
    )
    return [ChannelRow(r["unit_id"], r["period"], r["channel"], int(r["n"])) for r in rows]
