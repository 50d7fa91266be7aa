"""The dashboard's read cache, per process: what a page reads again and again while no
response arrives (the usual Monday: waves have closed, many pages and leaders read the same
sums).

- **Sums of a range**: the construct and item rows of a period range, kept with the range's
  data version (``dashboard_repository.data_version``) and used again only while it is
  unchanged. Rows are per (unit, period), so the org as of the request and the viewer's
  scope are applied afresh every time.
- **Viewer ledgers**: a viewer's differencing ledger, kept with the id of the last released
  group it holds; the next read (under the same per-viewer lock) applies only the groups
  released since, from any process. Atoms depend only on which groups hold each element,
  not on the order groups arrive, so this equals replaying every group. The entry is taken
  out while a read uses it; it is put back only once that read's groups are written, so a
  failed read leaves nothing behind but a ledger that is reloaded."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

from pulse_common.db import Connection

from pulse_correlation import aggregate_repository as aggregates_repo
from pulse_correlation import dashboard_repository as repo
from pulse_correlation.aggregates import ConstructRow, ItemRow
from pulse_correlation.confidentiality import Ledger

RANGES_KEPT = 4
LEDGERS_KEPT = 64


@dataclass
class RangeSums:
    version: tuple[int, int]
    rows: list[ConstructRow]
    items: dict[tuple[str, ...], list[ItemRow]] = field(default_factory=dict)


@dataclass
class ReadCache:
    ranges: OrderedDict[tuple[str, str], RangeSums] = field(default_factory=OrderedDict)
    ledgers: OrderedDict[str, tuple[int, Ledger]] = field(default_factory=OrderedDict)


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


async def take_ledger(
    conn: Connection, cache: ReadCache, viewer_id: str, k: int, measure_k: Mapping[str, int]
) -> Ledger:
    """The viewer's ledger brought up to date (call with the viewer's lock held)."""
    last_id, ledger = cache.ledgers.pop(viewer_id, (0, None))
    if ledger is None:
        ledger = Ledger(k)
    last_id, groups = await repo.released_since(conn, viewer_id, last_id)
    for group in groups:
        ledger.record(group)
    ledger.k = k
    ledger.measure_k = dict(measure_k)
    ledger.released = []
    return ledger


async def keep_ledger(conn: Connection, cache: ReadCache, viewer_id: str, ledger: Ledger) -> None:
    """Put the ledger back once its read's groups are written (same transaction)."""
    ledger.released = []
    cache.ledgers[viewer_id] = (await repo.last_released_id(conn, viewer_id), ledger)
    while len(cache.ledgers) > LEDGERS_KEPT:
        cache.ledgers.popitem(last=False)
