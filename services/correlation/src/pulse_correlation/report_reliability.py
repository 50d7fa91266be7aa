"""Cronbach's alpha of a linkage report's multi-item measures, pure: pooled over the cells
of the report's released units only, each cell of at least the measure's k people
(``reliability.construct_reliability``), so alpha reads nothing the report does not
release and never an individual answer."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from pulse_common.measures import is_nps

from pulse_correlation.aggregates import ConstructRow, ItemRow
from pulse_correlation.reliability import (
    ConstructReliability,
    Pooled,
    construct_reliability,
    pooled_reliability,
)
from pulse_correlation.report_cells import (
    Flags,
    Floats,
    Index,
    ItemColumns,
    ItemTable,
    PeriodColumns,
    ScopeRows,
)
from pulse_correlation.report_data import ReportData
from pulse_correlation.report_release import Release


def linkage_reliability(
    data: ReportData, release: Release, level: float
) -> dict[str, ConstructReliability]:
    """Alpha per predictor and outcome with at least two items, by construct."""
    if data.row_tables is not None and data.item_tables is not None:
        return _from_tables(data, release, level, data.row_tables, data.item_tables)
    released = set(release.owner_of)
    org = data.scope.org
    wanted = {c for c in data.measures.by_construct if not is_nps(c)}
    canonical: dict[str, str] = {}
    # The released units' rows and items, per construct (in their order).
    rows: dict[str, list[ConstructRow]] = {c: [] for c in wanted}
    items: dict[str, list[ItemRow]] = {c: [] for c in wanted}
    for found_rows, source in ((rows, data.rows), (items, data.items)):
        for r in source:
            if r.construct not in wanted:
                continue
            unit = canonical.get(r.unit_id)
            if unit is None:
                unit = canonical[r.unit_id] = org.canonical(r.unit_id)
            if unit in released:
                found_rows[r.construct].append(r)  # type: ignore[arg-type]
    found: dict[str, ConstructReliability] = {}
    for construct, measure in data.measures.by_construct.items():
        if is_nps(construct):  # one 0-10 item by definition
            continue
        reliability = construct_reliability(
            construct, rows[construct], items[construct], release.k_of[measure], level
        )
        if reliability is not None:
            found[construct] = reliability
    return found


# ---------------------------------------------------------------- from the period tables


def _running(values: Floats) -> float:
    """Left-to-right sum from 0.0, as adding one value at a time."""
    return float(np.cumsum(values)[-1]) if values.size else 0.0


def _from_tables(
    data: ReportData,
    release: Release,
    level: float,
    row_tables: list[PeriodColumns],
    item_tables: list[ItemTable],
) -> dict[str, ConstructReliability]:
    """``linkage_reliability`` from the frozen periods' columns (issue 20): the same cells,
    items and pooled sums as ``construct_reliability`` on the released rows (each sum
    added in the same order), without a Python object per row."""
    units = set(release.owner_of)
    rows_of = ScopeRows.of(data.arrays, data.scope)
    in_scope = rows_of.flags(units)
    if in_scope is not None:
        released = np.append(in_scope, False)  # index -1: outside the scope

        def flags(unit_ids: list[str]) -> Flags:
            return released[rows_of(unit_ids)]

    else:  # a release of units outside the scope (made by hand): id by id

        def flags(unit_ids: list[str]) -> Flags:
            org = data.scope.org
            return np.array([org.canonical(u) in units for u in unit_ids], dtype=np.bool_)

    tables = list(zip(row_tables, item_tables, strict=True))
    released_of = [(flags(rows.units), flags(items.units)) for rows, items in tables]
    row_codes = _RowCodes()
    row_code_of = [row_codes(rows.units, items.units) for rows, items in tables]
    found: dict[str, ConstructReliability] = {}
    for construct, measure in data.measures.by_construct.items():
        if is_nps(construct):  # one 0-10 item by definition
            continue
        reliability = _alpha(
            construct, tables, released_of, row_code_of, release.k_of[measure], level
        )
        if reliability is not None:
            found[construct] = reliability
    return found


def _alpha(
    construct: str,
    tables: list[tuple[PeriodColumns, ItemTable]],
    released_of: list[tuple[Flags, Flags]],
    row_code_of: list[Index],
    min_group_size: int,
    level: float,
) -> ConstructReliability | None:
    """``construct_reliability`` of one construct (see there) on arrays, every period's
    columns at once (codes into a period's vocabularies shifted into their concatenation):
    cells and rows in period order, as period by period."""
    item_ids = _item_ids(
        [
            (items, found, released)
            for (_, items), (_, released) in zip(tables, released_of, strict=True)
            if (found := items.constructs.get(construct)) is not None
        ]
    )
    k = len(item_ids)
    if k < 2:
        return None
    # Periods with rows of the construct: the cells of released units with at least k people.
    periods = [
        (rows, columns, released, items.constructs.get(construct), items, row_code)
        for (rows, items), (released, _), row_code in zip(
            tables, released_of, row_code_of, strict=True
        )
        if (columns := rows.constructs.get(construct)) is not None
    ]
    spaces = [len(p[0].units) for p in periods]
    unit = _shifted([p[1].codes for p in periods], spaces)
    n_all = np.concatenate([p[1].n for p in periods]) if periods else np.empty(0, np.int64)
    released_all = np.concatenate([p[2] for p in periods]) if periods else np.empty(0, np.bool_)
    at = np.flatnonzero(released_all[unit] & (n_all >= max(min_group_size, 1)))
    offset = at.size
    cell_n = n_all[at]
    cell_total = np.concatenate([p[1].total for p in periods])[at] if periods else np.empty(0)
    cell_squares = np.concatenate([p[1].squares for p in periods])[at] if periods else np.empty(0)
    # Their item rows: in a cell when the item row's unit id is that of a kept row (the
    # period's last such row). Units of all periods: ``spaces`` concatenated, then -1: none.
    starts = np.cumsum([0, *spaces]).tolist()
    both = [
        (item_columns, items, row_code, start)
        for (_, _, _, item_columns, items, row_code), start in zip(periods, starts, strict=False)
        if item_columns is not None
    ]
    if not both:  # no item row in any cell: every cell is left out
        return pooled_reliability(construct, k, Pooled(), {}, {}, offset, True, level)
    cell_of_unit = np.full(starts[-1] + 1, -1, dtype=np.intp)
    np.maximum.at(cell_of_unit, unit[at], np.arange(offset))
    local = np.concatenate([b[2] for b in both])  # item table unit -> row table unit
    row_unit = local + np.repeat([b[3] for b in both], [b[2].size for b in both])
    row_unit[local < 0] = -1
    cell = cell_of_unit[row_unit[_shifted([b[0].units for b in both], [b[2].size for b in both])]]
    in_cell = cell >= 0
    at_rows = None if in_cell.all() else np.flatnonzero(in_cell)  # None: every row
    item_cell = cell if at_rows is None else cell[at_rows]

    def column(name: str) -> NDArray[Any]:
        found = np.concatenate([getattr(b[0], name) for b in both])
        return found if at_rows is None else found[at_rows]

    codes = [_codes(b[1], item_ids) for b in both]
    item_codes = _shifted([b[0].items for b in both], [c.size for c in codes])
    item = np.concatenate(codes)[item_codes if at_rows is None else item_codes[at_rows]]
    n, total, squares = column("n"), column("total"), column("squares")
    scale = 100.0 / (column("high") - column("low"))
    n_xt, sum_xt = column("n_xt"), column("sum_xt")
    count = np.bincount(item_cell, minlength=offset)
    differs = np.bincount(item_cell, weights=n != cell_n[item_cell], minlength=offset)
    complete = (count == k) & (differs == 0)
    chosen = np.flatnonzero(complete)
    pooled_total = Pooled(
        int(cell_n[chosen].sum()), _running(cell_total[chosen]), _running(cell_squares[chosen])
    )
    in_complete = complete[item_cell]
    every = bool(in_complete.all())
    with_cross = bool(np.all(n_xt == n) if every else np.all(n_xt[in_complete] == n[in_complete]))
    # Items in the order the first complete cell lists them; each item's rows in the order
    # of their cells (then of the rows).
    regular = _regular(item, item_cell, k) if every and chosen.size else None
    if regular is not None:  # item j's rows are rows j, j + k, ...
        selected = [(code, slice(j, None, k)) for j, code in enumerate(regular)]
    else:  # one stable sort by (item, cell) for all items
        first = item[item_cell == chosen[0]].tolist() if chosen.size else []
        rank_of = dict.fromkeys(first)
        rank = np.full(k + 1, len(rank_of), dtype=np.intp)  # index -1 and others: last
        rank[list(rank_of)] = np.arange(len(rank_of))
        mine = np.flatnonzero(in_complete)
        ranks = rank[item[mine]]
        if np.all(item_cell[mine][1:] >= item_cell[mine][:-1]) and len(rank_of) < 2**15:
            order = np.argsort(ranks.astype(np.int16), kind="stable")  # in cell order: radix
        else:
            order = np.argsort(ranks * (offset + 1) + item_cell[mine], kind="stable")
        mine, bounds = mine[order], np.searchsorted(ranks[order], np.arange(len(rank_of) + 1))
        scale, n, total, squares, sum_xt = (c[mine] for c in (scale, n, total, squares, sum_xt))
        selected = [(code, slice(bounds[j], bounds[j + 1])) for j, code in enumerate(rank_of)]
    per_item: dict[str, Pooled] = {}
    cross: dict[str, float] = {}
    names = list(item_ids)
    for code, rows in selected:
        s = scale[rows]
        name = names[code]
        per_item[name] = Pooled(
            int(n[rows].sum()), _running(total[rows] * s), _running(squares[rows] * s * s)
        )
        cross[name] = _running(sum_xt[rows] * s)
    left_out = offset - chosen.size
    return pooled_reliability(
        construct, k, pooled_total, per_item, cross, left_out, with_cross, level
    )


def _regular(item: Index, item_cell: Index, k: int) -> list[int] | None:
    """The item codes of the first cell when the rows are cells of k rows each, one after
    the other in rising cell order, all listing the same k items in the same order (the
    usual layout), else None."""
    if not item.size or item.size % k:
        return None
    items, cells = item.reshape(-1, k), item_cell.reshape(-1, k)
    first: list[int] = items[0].tolist()
    if len(set(first)) != k or not (items == items[0]).all():
        return None
    if not (cells == cells[:, :1]).all() or not np.all(cells[1:, 0] > cells[:-1, 0]):
        return None
    return first


def _item_ids(found: list[tuple[ItemTable, ItemColumns, Flags]]) -> dict[str, int]:
    """Item id -> code: those of released units' item rows, period by period, each period's
    in the order of its table."""
    if not found:
        return {}
    kept = np.concatenate([f[2] for f in found])[
        _shifted([f[1].units for f in found], [f[2].size for f in found])
    ]
    names = [i for f in found for i in f[0].item_ids]
    seen = np.bincount(
        _shifted([f[1].items for f in found], [len(f[0].item_ids) for f in found])[kept],
        minlength=len(names),
    )
    item_ids: dict[str, int] = {}
    for code in np.flatnonzero(seen).tolist():
        item_ids.setdefault(names[code], len(item_ids))
    return item_ids


def _shifted(codes: list[Index], spaces: list[int]) -> Index:
    """Codes into consecutive vocabularies of ``spaces`` entries -> into their concatenation."""
    if not codes:
        return np.empty(0, dtype=np.intp)
    starts = np.cumsum([0, *spaces[:-1]])
    shifted: Index = np.concatenate(codes) + np.repeat(starts, [c.size for c in codes])
    return shifted


class _RowCodes:
    """Per item table unit id of a period: the code of the same id among its row table's
    units (-1: none), remembered per pair of vocabularies (a report's periods repeat them)."""

    def __init__(self) -> None:
        self._known: dict[tuple[tuple[str, ...], tuple[str, ...]], Index] = {}

    def __call__(self, row_units: list[str], item_units: list[str]) -> Index:
        if row_units is item_units:  # one list (``period_item_table``)
            return np.arange(len(item_units), dtype=np.intp)
        key = (tuple(row_units), tuple(item_units))
        found = self._known.get(key)
        if found is None and key[0] == key[1]:  # the usual case: the same ids, same order
            found = self._known[key] = np.arange(len(item_units), dtype=np.intp)
        elif found is None:
            code = {u: i for i, u in enumerate(row_units)}
            found = self._known[key] = np.array([code.get(u, -1) for u in item_units], np.intp)
        return found


def _codes(items: ItemTable, item_ids: dict[str, int]) -> Index:
    """Per item id of the table: its code among ``item_ids`` (-1: not counted)."""
    return np.array([item_ids.get(i, -1) for i in items.item_ids], dtype=np.intp)
