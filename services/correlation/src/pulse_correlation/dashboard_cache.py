"""The dashboard's read cache, per process: what a page reads again and again while no
response arrives (the usual Monday: waves have closed, many pages and leaders read the same
sums).

- **Sums of a range**: the construct and item rows of a period range, kept with the range's
  data version (``dashboard_repository.data_version``) and used again only while it is
  unchanged. Rows are per (unit, period), so the org as of the request and the viewer's
  scope are applied afresh every time.

- **Released periods**: frozen periods (``release_repository``) and their decisions, kept
  for good once their freezing transaction had committed before the read.

What a page shows comes from the frozen releases (``releases``), not from these rows."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from pulse_common.db import Connection

from pulse_correlation import aggregate_repository as aggregates_repo
from pulse_correlation import dashboard_repository as repo
from pulse_correlation.aggregates import ConstructRow, ItemRow
from pulse_correlation.releases import FrozenPeriod

RANGES_KEPT = 4
FROZEN_KEPT = 48  # released periods (with their decisions): they never change


@dataclass
class RangeSums:
    version: tuple[int, int]
    rows: list[ConstructRow]
    items: dict[tuple[str, ...], list[ItemRow]] = field(default_factory=dict)


@dataclass
class ReadCache:
    ranges: OrderedDict[tuple[str, str], RangeSums] = field(default_factory=OrderedDict)
    frozen: OrderedDict[str, FrozenPeriod] = field(default_factory=OrderedDict)


async def range_sums(
    conn: Connection, cache: ReadCache, period_from: str, period_to: str
) -> RangeSums:
    """Every construct row of the range, read again only when the range's data grew."""
    key = (period_from, period_to)
    version = await repo.data_version(conn, period_from, period_to)
    found = cache.ranges.get(key)
    if found is not None and found.version == version:
        cache.ranges.move_to_end(key)
        return found
    rows = await aggregates_repo.construct_rows(conn, period_from, period_to, None)
    found = RangeSums(version, rows)
    cache.ranges[key] = found
    while len(cache.ranges) > RANGES_KEPT:
        cache.ranges.popitem(last=False)
    return found


async def range_items(
    conn: Connection, sums: RangeSums, period_from: str, period_to: str, constructs: list[str]
) -> list[ItemRow]:
    key = tuple(constructs)
    if key not in sums.items:
        sums.items[key] = await aggregates_repo.item_rows(conn, period_from, period_to, constructs)
    return sums.items[key]
