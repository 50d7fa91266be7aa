"""What the item rows of a linkage report's released units add up to, pure, as arrays
(issue 20): per construct, unit and item (treatment item values, r_wg(j)), per unit and
per (unit, period) (category counts of the outcome and NPS).

The item rows come as columns (``report_cells.ItemTable``: kept per frozen period, or
built from ``ReportData.items``). Sums of floats are added with ``numpy.bincount`` in the
rows' order, so they are the numbers adding the rows one by one gives (a key without
rows adds up to 0)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pulse_common.measures import TREATMENT_PREFIX

from pulse_correlation.report_cells import (
    Flags,
    Floats,
    Index,
    Ints,
    ItemColumns,
    ItemTable,
    item_table,
)
from pulse_correlation.report_data import ReportData
from pulse_correlation.report_release import Release


@dataclass(frozen=True)
class ConstructSums:
    """One construct's item rows added per released unit (rows) and item (columns, the
    ``ItemSums.item_ids``); per item, the scale of its last row and its first row's place
    (the order items first appear)."""

    n: Ints
    total: Floats
    squares: Floats
    present: Flags  # the item has rows
    low: Ints
    high: Ints
    first: Index

    @property
    def options(self) -> Ints:
        """Answer options (A) of each item."""
        return self.high - self.low + 1


@dataclass(frozen=True)
class Categories:
    """Category counts (``Sums.add_categories``) per released unit, or per unit (rows)
    and period (columns)."""

    promoters: Ints
    passives: Ints
    detractors: Ints
    top2: Ints
    answers: Ints

    def columns(self) -> tuple[Ints, Ints, Ints, Ints, Ints]:
        return self.promoters, self.passives, self.detractors, self.top2, self.answers

    def nps(self) -> Floats:
        """NPS of each entry (``Sums.nps``: NaN without NPS answers)."""
        counted = self.promoters + self.passives + self.detractors
        with np.errstate(invalid="ignore", divide="ignore"):
            # As ``nps_from_counts``: 100 (P / n - D / n), n > 0.
            score = 100.0 * (self.promoters / counted - self.detractors / counted)
        return np.asarray(np.where(counted > 0, score, np.nan), dtype=np.float64)


@dataclass(frozen=True)
class ItemSums:
    """What the item rows of the released units add up to."""

    units: int
    item_ids: list[str]
    periods: list[str]  # the columns of ``period_categories``
    sums: dict[str, ConstructSums]  # treatment constructs and the r_wg(j) ones, with rows
    categories: dict[str, Categories]  # outcome and NPS construct, with rows
    period_categories: Categories | None  # the outcome's, with rows

    def categories_of(self, construct: str) -> Categories:
        """Per unit (zeros when the construct has no rows)."""
        found = self.categories.get(construct)
        if found is None:
            zero = np.zeros(self.units, dtype=np.int64)
            found = Categories(zero, zero, zero, zero, zero)
        return found


@dataclass(frozen=True)
class _Rows:
    """One construct's kept rows (of released units), every table's in order: owner, item
    and period codes, and its other columns joined when first asked for (a construct
    needs only some of them)."""

    owner: Index
    item: Index
    period: Index
    pieces: list[tuple[ItemColumns, Flags | None]]  # None: every row of the table kept
    joined: dict[str, NDArray[Any]] = field(default_factory=dict)

    def column(self, name: str) -> NDArray[Any]:
        found = self.joined.get(name)
        if found is None:
            found = self.joined[name] = np.concatenate(
                [
                    getattr(c, name) if keep is None else getattr(c, name)[keep]
                    for c, keep in self.pieces
                ]
            )
        return found


class _Vocabulary:
    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.names: list[str] = []

    def codes(self, names: list[str]) -> Index:
        for name in names:
            if name not in self.index:
                self.index[name] = len(self.names)
                self.names.append(name)
        return np.fromiter(map(self.index.__getitem__, names), dtype=np.intp, count=len(names))


def _gather(
    data: ReportData, release: Release, wanted: set[str]
) -> tuple[dict[str, _Rows], list[str], list[str]]:
    """Per construct of ``wanted``: its rows of released units, with owner, item and period
    codes; and the item ids and periods the codes index."""
    tables: list[ItemTable] = (
        data.item_tables if data.item_tables is not None else [item_table(data.items)]
    )
    if data.item_tables is not None and data.item_constructs is not None:
        wanted = wanted & set(data.item_constructs)
    owner_index = {u: i for i, u in enumerate(release.units)}
    owner_of = release.owner_of
    org = data.scope.org
    known: dict[str, int] = {}  # unit id -> its released unit's index, or -1
    items, periods = _Vocabulary(), _Vocabulary()
    parts: dict[str, list[tuple[Index, Index, Index, ItemColumns, Flags | None]]] = {}
    for table in tables:
        for unit_id in set(table.units).difference(known):
            owner = owner_of.get(org.canonical(unit_id))
            known[unit_id] = -1 if owner is None else owner_index[owner]
        owners = np.fromiter(
            map(known.__getitem__, table.units), dtype=np.intp, count=len(table.units)
        )
        item_codes = items.codes(table.item_ids)
        period_codes = periods.codes(table.periods)
        for construct, c in table.constructs.items():
            if construct not in wanted:
                continue
            owner_of_row = owners[c.units]
            keep: Flags | None = owner_of_row >= 0
            if keep is not None and keep.all():
                keep = None
                row_items, row_periods = c.items, c.periods
            elif keep is not None and keep.any():
                owner_of_row, row_items, row_periods = (
                    owner_of_row[keep],
                    c.items[keep],
                    c.periods[keep],
                )
            else:
                continue
            parts.setdefault(construct, []).append(
                (owner_of_row, item_codes[row_items], period_codes[row_periods], c, keep)
            )
    found_rows: dict[str, _Rows] = {}
    for construct, pieces in parts.items():
        found_rows[construct] = _Rows(
            owner=np.concatenate([p[0] for p in pieces]),
            item=np.concatenate([p[1] for p in pieces]),
            period=np.concatenate([p[2] for p in pieces]),
            pieces=[(p[3], p[4]) for p in pieces],
        )
    return found_rows, items.names, periods.names


def _added(keys: Index, size: int, values: NDArray[Any]) -> NDArray[Any]:
    """Per key: ``values`` of its rows added in row order (``bincount`` adds in order, as
    one by one; integer counts stay exact as float64 and come back as int64)."""
    found = np.bincount(keys, weights=values, minlength=size)
    if values.dtype.kind in "iub":
        return found.astype(np.int64)
    return found


def _construct_sums(rows: _Rows, units: int, n_items: int) -> ConstructSums:
    keys = rows.owner * n_items + rows.item
    size = units * n_items
    shape = (units, n_items)
    present = np.zeros(n_items, dtype=np.bool_)
    present[rows.item] = True
    # Per item, its last row (the scale) and first row (the order of appearance).
    at = np.arange(rows.item.size, dtype=np.intp)
    last = np.zeros(n_items, dtype=np.intp)
    np.maximum.at(last, rows.item, at)
    first = np.full(n_items, rows.item.size, dtype=np.intp)
    np.minimum.at(first, rows.item, at)
    return ConstructSums(
        n=_added(keys, size, rows.column("n")).reshape(shape),
        total=_added(keys, size, rows.column("total")).reshape(shape),
        squares=_added(keys, size, rows.column("squares")).reshape(shape),
        present=present,
        low=np.where(present, rows.column("low")[last], 0),
        high=np.where(present, rows.column("high")[last], 0),
        first=first,
    )


def _categories(
    keys: Index, size: int, rows: _Rows, shape: tuple[int, ...] | None = None
) -> Categories:
    """Per key: category counts (``Sums.add_categories``), shaped as ``shape``."""
    other = ~rows.column("nps")
    columns = [
        _added(keys, size, values).reshape(shape or (size,))
        for values in (
            rows.column("promoters"),
            rows.column("passives"),
            rows.column("detractors"),
            np.where(other, rows.column("top2"), 0),
            np.where(other, rows.column("n"), 0),
        )
    ]
    return Categories(*columns)


def item_sums(data: ReportData, release: Release) -> ItemSums:
    measures = data.measures
    rwg_constructs = {*measures.predictors, measures.outcome}
    category_constructs = {measures.outcome, measures.nps_construct}
    every = {
        *(c for c in (data.item_constructs or ()) if c.startswith(TREATMENT_PREFIX)),
        *rwg_constructs,
        *category_constructs,
    }
    if data.item_tables is None:
        every |= {i.construct for i in data.items if i.construct.startswith(TREATMENT_PREFIX)}
    rows_of, item_ids, periods = _gather(data, release, every)
    units = len(release.units)
    n_items, n_periods = max(len(item_ids), 1), max(len(periods), 1)
    sums: dict[str, ConstructSums] = {}
    categories: dict[str, Categories] = {}
    by_period = None
    for construct, rows in rows_of.items():
        if construct.startswith(TREATMENT_PREFIX) or construct in rwg_constructs:
            sums[construct] = _construct_sums(rows, units, n_items)
        if construct == measures.outcome:
            keys = rows.owner * n_periods + rows.period
            by_period = _categories(keys, units * n_periods, rows, (units, n_periods))
            # Counts are integers: adding the periods is exact.
            categories[construct] = Categories(
                *(np.asarray(c.sum(axis=1), dtype=np.int64) for c in by_period.columns())
            )
        elif construct in category_constructs:
            categories[construct] = _categories(rows.owner, units, rows)
    return ItemSums(units, item_ids, periods, sums, categories, by_period)
