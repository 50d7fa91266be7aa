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
    Ints,
    ItemColumns,
    ItemTable,
    PeriodColumns,
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
    released = set(release.owner_of)
    org = data.scope.org
    inside: dict[str, bool] = {}

    def flags(units: list[str]) -> Flags:
        found = np.empty(len(units), dtype=np.bool_)
        for i, unit in enumerate(units):
            known = inside.get(unit)
            if known is None:
                known = inside[unit] = org.canonical(unit) in released
            found[i] = known
        return found

    tables = list(zip(row_tables, item_tables, strict=True))
    released_of = [(flags(rows.units), flags(items.units)) for rows, items in tables]
    found: dict[str, ConstructReliability] = {}
    for construct, measure in data.measures.by_construct.items():
        if is_nps(construct):  # one 0-10 item by definition
            continue
        reliability = _alpha(construct, tables, released_of, release.k_of[measure], level)
        if reliability is not None:
            found[construct] = reliability
    return found


def _alpha(
    construct: str,
    tables: list[tuple[PeriodColumns, ItemTable]],
    released_of: list[tuple[Flags, Flags]],
    min_group_size: int,
    level: float,
) -> ConstructReliability | None:
    """``construct_reliability`` of one construct (see there) on arrays."""
    item_ids: dict[str, int] = {}
    cells: list[tuple[Ints, Floats, Floats]] = []
    picked: list[tuple[Index, Index, ItemColumns, Index]] = []
    offset = 0
    for (rows, items), (rows_released, items_released) in zip(tables, released_of, strict=True):
        columns, item_columns = rows.constructs.get(construct), items.constructs.get(construct)
        if item_columns is not None:
            kept = items_released[item_columns.units]
            for code in np.unique(item_columns.items[kept]).tolist():
                item_ids.setdefault(items.item_ids[code], len(item_ids))
        if columns is None:
            continue
        at = np.flatnonzero(rows_released[columns.codes] & (columns.n >= max(min_group_size, 1)))
        cells.append((columns.n[at], columns.total[at], columns.squares[at]))
        if item_columns is not None:
            cell_of = {rows.units[c]: offset + i for i, c in enumerate(columns.codes[at].tolist())}
            cell_of_unit = np.array([cell_of.get(u, -1) for u in items.units], dtype=np.intp)
            cell = cell_of_unit[item_columns.units]
            rows_in = np.flatnonzero(cell >= 0)
            picked.append((cell[rows_in], rows_in, item_columns, _codes(items, item_ids)))
        offset += at.size
    k = len(item_ids)
    if k < 2:
        return None
    cell_n = np.concatenate([c[0] for c in cells]) if cells else np.empty(0, np.int64)
    cell_total = np.concatenate([c[1] for c in cells]) if cells else np.empty(0)
    cell_squares = np.concatenate([c[2] for c in cells]) if cells else np.empty(0)
    item_cell = np.concatenate([p[0] for p in picked]) if picked else np.empty(0, np.intp)

    def column(name: str) -> NDArray[Any]:
        return np.concatenate([getattr(p[2], name)[p[1]] for p in picked])

    if picked:
        item = np.concatenate([p[3][p[2].items[p[1]]] for p in picked])
        n, total, squares = column("n"), column("total"), column("squares")
        scale = 100.0 / (column("high") - column("low"))
        n_xt, sum_xt = column("n_xt"), column("sum_xt")
    else:  # no item row in any cell: every cell is left out
        return pooled_reliability(construct, k, Pooled(), {}, {}, cell_n.size, True, level)
    count = np.bincount(item_cell, minlength=offset)
    differs = np.bincount(item_cell, weights=n != cell_n[item_cell], minlength=offset)
    complete = (count == k) & (differs == 0)
    chosen = np.flatnonzero(complete)
    pooled_total = Pooled(
        int(cell_n[chosen].sum()), _running(cell_total[chosen]), _running(cell_squares[chosen])
    )
    in_complete = complete[item_cell]
    with_cross = bool(np.all(n_xt[in_complete] == n[in_complete]))
    # Items in the order the first complete cell lists them; each item's cells in order.
    first = np.flatnonzero(item_cell == chosen[0]) if chosen.size else np.empty(0, np.intp)
    per_item: dict[str, Pooled] = {}
    cross: dict[str, float] = {}
    names = list(item_ids)
    for code in item[first].tolist():
        mine = np.flatnonzero(in_complete & (item == code))
        mine = mine[np.argsort(item_cell[mine], kind="stable")]
        s = scale[mine]
        name = names[code]
        per_item[name] = Pooled(
            int(n[mine].sum()), _running(total[mine] * s), _running(squares[mine] * s * s)
        )
        cross[name] = _running(sum_xt[mine] * s)
    left_out = offset - chosen.size
    return pooled_reliability(
        construct, k, pooled_total, per_item, cross, left_out, with_cross, level
    )


def _codes(items: ItemTable, item_ids: dict[str, int]) -> Index:
    """Per item id of the table: its code among ``item_ids`` (-1: not counted)."""
    return np.array([item_ids.get(i, -1) for i in items.item_ids], dtype=np.intp)
