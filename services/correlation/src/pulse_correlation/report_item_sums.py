"""What the item rows of a linkage report's released units add up to, pure, with arrays
(issue 20): per treatment item and unit (item values), per construct, unit and item
(r_wg(j)), per unit and per (unit, period) (category counts of the outcome and NPS).

The item rows come as columns (``report_cells.ItemTable``: kept per frozen period, or
built from ``ReportData.items``). Sums of floats are added with ``numpy.add.at`` in the
rows' order, so they are the numbers adding the rows one by one gives; a table entry
exists for every key with a row, in the order the keys first appear."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pulse_common.measures import TREATMENT_PREFIX

from pulse_correlation.aggregates import Sums
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


@dataclass
class ItemSums:
    """What the item rows of the released units add up to."""

    treatment_items: dict[str, str] = field(default_factory=dict)  # item -> construct
    by_item: dict[str, dict[str, Sums]] = field(default_factory=lambda: defaultdict(dict))
    scale: dict[str, tuple[int, int]] = field(default_factory=dict)
    # construct -> (unit, item) -> sums, and item -> number of answer options (A)
    rwg: dict[str, dict[tuple[str, str], Sums]] = field(default_factory=lambda: defaultdict(dict))
    rwg_options: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    # (construct, unit) and, for the outcome, (unit, period) -> category counts
    categories: dict[tuple[str, str], Sums] = field(default_factory=lambda: defaultdict(Sums))
    period_categories: dict[tuple[str, str], Sums] = field(
        default_factory=lambda: defaultdict(Sums)
    )


@dataclass(frozen=True)
class _Rows:
    """One construct's kept rows (of released units), every table's in order."""

    owner: Index
    item: Index
    period: Index
    n: Ints
    total: Floats
    squares: Floats
    promoters: Ints
    passives: Ints
    detractors: Ints
    top2: Ints
    nps: Flags
    low: Ints
    high: Ints


class _Vocabulary:
    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.names: list[str] = []

    def codes(self, names: list[str]) -> Index:
        found = np.empty(len(names), dtype=np.intp)
        for i, name in enumerate(names):
            code = self.index.get(name)
            if code is None:
                code = self.index[name] = len(self.names)
                self.names.append(name)
            found[i] = code
        return found


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
    known: dict[str, int] = {}
    items, periods = _Vocabulary(), _Vocabulary()
    parts: dict[str, list[tuple[Index, Index, Index, ItemColumns, Flags]]] = {}
    for table in tables:
        # Per unit id of the table: its released unit's index, or -1 (last slot).
        owners = np.empty(len(table.units) + 1, dtype=np.intp)
        owners[-1] = -1
        for code, unit_id in enumerate(table.units):
            found = known.get(unit_id)
            if found is None:
                owner = owner_of.get(org.canonical(unit_id))
                found = known[unit_id] = -1 if owner is None else owner_index[owner]
            owners[code] = found
        item_codes = items.codes(table.item_ids)
        period_codes = periods.codes(table.periods)
        for construct, c in table.constructs.items():
            if construct not in wanted:
                continue
            owner_of_row = owners[c.units]
            keep = owner_of_row >= 0
            if keep.any():
                parts.setdefault(construct, []).append(
                    (
                        owner_of_row[keep],
                        item_codes[c.items[keep]],
                        period_codes[c.periods[keep]],
                        c,
                        keep,
                    )
                )
    found_rows: dict[str, _Rows] = {}
    for construct, pieces in parts.items():
        columns = [p[3] for p in pieces]
        keeps = [p[4] for p in pieces]

        def joined(
            name: str, columns: list[ItemColumns] = columns, keeps: list[Flags] = keeps
        ) -> NDArray[Any]:
            return np.concatenate(
                [getattr(c, name)[k] for c, k in zip(columns, keeps, strict=True)]
            )

        found_rows[construct] = _Rows(
            owner=np.concatenate([p[0] for p in pieces]),
            item=np.concatenate([p[1] for p in pieces]),
            period=np.concatenate([p[2] for p in pieces]),
            n=joined("n"),
            total=joined("total"),
            squares=joined("squares"),
            promoters=joined("promoters"),
            passives=joined("passives"),
            detractors=joined("detractors"),
            top2=joined("top2"),
            nps=joined("nps"),
            low=joined("low"),
            high=joined("high"),
        )
    return found_rows, items.names, periods.names


def _keyed_sums(keys: Index, size: int, rows: _Rows) -> tuple[list[int], list[Sums]]:
    """Per key with rows, in the order keys first appear: n, sum and sum of squares."""
    n = np.zeros(size, dtype=np.int64)
    total = np.zeros(size, dtype=np.float64)
    squares = np.zeros(size, dtype=np.float64)
    np.add.at(n, keys, rows.n)
    np.add.at(total, keys, rows.total)
    np.add.at(squares, keys, rows.squares)
    seen, first = np.unique(keys, return_index=True)
    ordered = seen[np.argsort(first, kind="stable")]
    counts, totals, sq = n[ordered].tolist(), total[ordered].tolist(), squares[ordered].tolist()
    return ordered.tolist(), [Sums(*found) for found in zip(counts, totals, sq, strict=True)]


def _last_scale(rows: _Rows, item_ids: list[str]) -> dict[str, tuple[int, int]]:
    """Per item: the scale of its last row."""
    reversed_items = rows.item[::-1]
    seen, first = np.unique(reversed_items, return_index=True)
    last = len(reversed_items) - 1 - first
    return {
        item_ids[i]: (int(rows.low[at]), int(rows.high[at]))
        for i, at in zip(seen, last, strict=True)
    }


def _categories(keys: Index, size: int, rows: _Rows) -> dict[int, Sums]:
    """Per key with rows: category counts (``Sums.add_categories``)."""
    other = ~rows.nps
    seen = np.unique(keys)
    columns = []
    for values in (
        rows.promoters,
        rows.passives,
        rows.detractors,
        np.where(other, rows.top2, 0),
        np.where(other, rows.n, 0),
    ):
        counted = np.zeros(size, dtype=np.int64)
        np.add.at(counted, keys, values)
        columns.append(counted[seen].tolist())
    found: dict[int, Sums] = {}
    for key, p, pa, d, t2, a in zip(seen.tolist(), *columns, strict=True):
        found[key] = Sums(promoters=p, passives=pa, detractors=d, top2=t2, answers=a)
    return found


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
    units = release.units
    n_items = max(len(item_ids), 1)
    found = ItemSums()
    for construct, rows in rows_of.items():
        keys = rows.owner * n_items + rows.item
        size = len(units) * n_items
        if construct.startswith(TREATMENT_PREFIX) or construct in rwg_constructs:
            ordered, sums = _keyed_sums(keys, size, rows)
            scales = _last_scale(rows, item_ids)
            for key, s in zip(ordered, sums, strict=True):
                owner, item = units[key // n_items], item_ids[key % n_items]
                if construct.startswith(TREATMENT_PREFIX):
                    found.treatment_items[item] = construct
                    found.by_item[item][owner] = Sums(s.n, s.total, s.squares)
                if construct in rwg_constructs:
                    found.rwg[construct][(owner, item)] = s
            for item, (low, high) in scales.items():
                if construct.startswith(TREATMENT_PREFIX):
                    found.scale[item] = (low, high)
                if construct in rwg_constructs:
                    found.rwg_options[construct][item] = high - low + 1
        if construct in category_constructs:
            for owner_code, s in _categories(rows.owner, len(units), rows).items():
                found.categories[(construct, units[owner_code])] = s
            if construct == measures.outcome:
                n_periods = max(len(periods), 1)
                by_period = rows.owner * n_periods + rows.period
                for key, s in _categories(by_period, len(units) * n_periods, rows).items():
                    found.period_categories[(units[key // n_periods], periods[key % n_periods])] = s
    return found
