"""The cells of a linkage report as arrays, pure (issue 20): per construct, respondents,
sum and sum of squares of every (unit of the scope, period) as (units x periods) numpy
arrays, so what a report does with them costs units x periods array operations, not a
Python object per aggregate row.

Each frozen period's construct rows are turned into columns once
(``period_columns``, kept on the period like its decisions: a frozen period never
changes). A report maps the period's few distinct unit ids to rows of its scope (merged
units resolved, ``ScopeRows``), then adds the columns into the arrays with
``numpy.bincount``, which adds in the rows' order: every cell's sums are the same
floating-point sums, in the same order, as adding the rows one by one
(``report_data.construct_sums``)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray
from pulse_common.measures import EMPLOYEE

from pulse_correlation.access import Scope
from pulse_correlation.aggregates import ItemRow, Sums
from pulse_correlation.releases import FrozenPeriod

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Flags = NDArray[np.bool_]
Index = NDArray[np.intp]

_COLUMNS = "report_cells.columns"


@dataclass(frozen=True)
class ConstructColumns:
    """One construct's rows of one frozen period, as columns."""

    codes: Index  # per row: index into ``PeriodColumns.units``
    n: Ints
    total: Floats
    squares: Floats
    employee: Flags  # the row counts employees


@dataclass(frozen=True)
class PeriodColumns:
    units: list[str]  # the distinct unit ids of the period's rows, as the rows spell them
    constructs: dict[str, ConstructColumns]


def period_columns(frozen: FrozenPeriod) -> PeriodColumns:
    """The period's construct rows as columns, built on first use and kept with it."""
    found = frozen.memo.get(_COLUMNS)
    if isinstance(found, PeriodColumns):
        return found
    vocabulary: dict[str, int] = {}
    constructs: dict[str, ConstructColumns] = {}
    for construct, rows in frozen.rows_by_construct().items():
        constructs[construct] = ConstructColumns(
            codes=np.array(
                [vocabulary.setdefault(r.unit_id, len(vocabulary)) for r in rows], dtype=np.intp
            ),
            n=np.array([r.n for r in rows], dtype=np.int64),
            total=np.array([r.sum for r in rows], dtype=np.float64),
            squares=np.array([r.sumsq for r in rows], dtype=np.float64),
            employee=np.array([r.population == EMPLOYEE for r in rows], dtype=np.bool_),
        )
    columns = PeriodColumns(list(vocabulary), constructs)
    frozen.memo[_COLUMNS] = columns
    return columns


@dataclass(frozen=True)
class CellMatrix:
    """(units x periods) sums of one construct; ``present``: a row counted in the cell."""

    n: Ints
    total: Floats
    squares: Floats
    present: Flags

    def sums(self, row: int, column: int) -> Sums:
        return Sums(
            int(self.n[row, column]),
            float(self.total[row, column]),
            float(self.squares[row, column]),
        )


class ScopeRows:
    """Unit ids as the rows spell them -> their row among the report's scope units (sorted;
    merged units resolved), -1 outside the scope. Remembered per vocabulary (the unit list
    of a period's columns, which its decisions' codes share): a report's periods repeat
    the same ids, mostly in the same order, so such a period costs one lookup, not one
    per unit. The arrays returned are shared and read-only."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.units = sorted(scope.units())
        self.row = {u: i for i, u in enumerate(self.units)}
        self._merged = scope.org.merged  # most ids are their own canonical unit
        self._of_vocabulary: dict[tuple[str, ...], Index] = {}
        self._of_list: dict[int, tuple[Sequence[str], Index]] = {}  # by identity, kept alive
        self._last: tuple[Sequence[str], Index] | None = None

    @staticmethod
    def of(cells: ReportCells | None, scope: Scope) -> ScopeRows:
        """The one kept with ``cells`` when made for this very scope, else a new one."""
        found = cells.scope_rows if cells is not None else None
        return found if found is not None and found.scope is scope else ScopeRows(scope)

    def __call__(self, unit_ids: Sequence[str]) -> Index:
        seen = self._of_list.get(id(unit_ids))
        if seen is not None and seen[0] is unit_ids:
            return seen[1]
        last = self._last
        if last is not None and last[0] == unit_ids:  # as the previous period's: cheapest
            self._of_list[id(unit_ids)] = (unit_ids, last[1])
            return last[1]
        key = tuple(unit_ids)
        found = self._of_vocabulary.get(key)
        if found is None:
            row, merged, canonical = self.row, self._merged, self.scope.org.canonical
            found = np.array(
                [row.get(canonical(u) if u in merged else u, -1) for u in key], dtype=np.intp
            )
            found.flags.writeable = False
            self._of_vocabulary[key] = found
        self._of_list[id(unit_ids)] = self._last = (unit_ids, found)
        return found

    def flags(self, units: Collection[str]) -> Flags | None:
        """Per scope row: in ``units`` (None when some of ``units`` are not scope units)."""
        found = np.zeros(len(self.units), dtype=np.bool_)
        rows = [self.row.get(u, -1) for u in units]
        if -1 in rows:
            return None
        found[rows] = True
        return found


@dataclass(frozen=True)
class ReportCells:
    """Every construct's cells of a report: rows are ``units``, columns ``periods``."""

    units: list[str]
    periods: list[str]
    matrices: dict[str, CellMatrix]
    employee: frozenset[str] = frozenset()  # constructs with employee rows in scope
    row: dict[str, int] = field(default_factory=dict)
    # The unit mapping the arrays were made with, for the report's later steps.
    scope_rows: ScopeRows | None = field(default=None, repr=False, compare=False)

    def matrix(self, construct: str) -> CellMatrix:
        found = self.matrices.get(construct)
        if found is None:
            shape = (len(self.units), len(self.periods))
            found = CellMatrix(
                np.zeros(shape, dtype=np.int64),
                np.zeros(shape, dtype=np.float64),
                np.zeros(shape, dtype=np.float64),
                np.zeros(shape, dtype=np.bool_),
            )
        return found

    def as_sums(self, construct: str) -> dict[tuple[str, str], Sums]:
        """The cells of ``construct`` with a row, as ``Sums`` (for uses that want them)."""
        found = self.matrices.get(construct)
        if found is None:
            return {}
        return {
            (self.units[i], self.periods[j]): found.sums(int(i), int(j))
            for i, j in np.argwhere(found.present)
        }

    @staticmethod
    def from_sums(constructs: Mapping[str, Mapping[tuple[str, str], Sums]]) -> ReportCells:
        """The arrays of cells already summed (a report data built by hand)."""
        units = sorted({u for cells in constructs.values() for (u, _) in cells})
        periods = sorted({p for cells in constructs.values() for (_, p) in cells})
        row = {u: i for i, u in enumerate(units)}
        column = {p: j for j, p in enumerate(periods)}
        shape = (len(units), len(periods))
        matrices: dict[str, CellMatrix] = {}
        for construct, cells in constructs.items():
            m = CellMatrix(
                np.zeros(shape, dtype=np.int64),
                np.zeros(shape, dtype=np.float64),
                np.zeros(shape, dtype=np.float64),
                np.zeros(shape, dtype=np.bool_),
            )
            for (unit, period), s in cells.items():
                at = (row[unit], column[period])
                m.n[at], m.total[at], m.squares[at], m.present[at] = s.n, s.total, s.squares, True
            matrices[construct] = m
        return ReportCells(units, periods, matrices, row=row)


def report_cells(frozen: Sequence[FrozenPeriod], scope: Scope) -> ReportCells:
    """The cells of the frozen periods' rows whose unit (merged units resolved) is in
    ``scope``: the sums ``construct_sums`` gives, as arrays."""
    rows_of = ScopeRows(scope)
    units = rows_of.units
    # construct -> (period, scope row of each kept row, its columns, the kept rows or None: all)
    parts: dict[str, list[tuple[str, Index, ConstructColumns, Index | None]]] = {}
    employee: set[str] = set()
    periods: set[str] = set()
    for f in frozen:
        columns = period_columns(f)
        rows_of_codes = rows_of(columns.units)
        everyone = bool(rows_of_codes.size) and rows_of_codes.min() >= 0  # all in scope
        for construct, c in columns.constructs.items():
            rows = rows_of_codes[c.codes]
            kept: Index | None = None
            if not everyone or not rows.size:
                kept = np.flatnonzero(rows >= 0)
                if not kept.size:
                    continue
                rows = rows[kept]
            periods.add(f.period)
            if (
                construct not in employee
                and (c.employee if kept is None else c.employee[kept]).any()
            ):
                employee.add(construct)
            parts.setdefault(construct, []).append((f.period, rows, c, kept))
    ordered = sorted(periods)
    column = {p: j for j, p in enumerate(ordered)}
    shape = (len(units), len(ordered))
    size = shape[0] * shape[1]
    matrices: dict[str, CellMatrix] = {}
    for construct, found_parts in parts.items():
        # Each cell's rows come from one period, in their order: bincount adds them in that
        # order, the sums np.add.at (and adding row by row) gives.
        cell = np.concatenate([rows for _, rows, _, _ in found_parts]) * shape[1] + np.repeat(
            [column[p] for p, _, _, _ in found_parts], [rows.size for _, rows, _, _ in found_parts]
        )
        matrices[construct] = CellMatrix(
            _summed(cell, found_parts, "n", shape).astype(np.int64),  # exact below 2**53
            _summed(cell, found_parts, "total", shape),
            _summed(cell, found_parts, "squares", shape),
            (np.bincount(cell, minlength=size) > 0).reshape(shape),
        )
    return ReportCells(units, ordered, matrices, frozenset(employee), rows_of.row, rows_of)


def _summed(
    cell: Index,
    parts: list[tuple[str, Index, ConstructColumns, Index | None]],
    name: str,
    shape: tuple[int, int],
) -> Floats:
    """Column ``name`` of the kept rows added per cell (flat index ``cell``), in row order."""
    weights = np.concatenate(
        [getattr(c, name) if kept is None else getattr(c, name)[kept] for _, _, c, kept in parts]
    )
    summed = np.bincount(cell, weights=weights, minlength=shape[0] * shape[1])
    return summed.astype(np.float64, copy=False).reshape(shape)


# ---------------------------------------------------------------- item rows as columns

_ITEMS = "report_cells.items"


@dataclass(frozen=True)
class ItemColumns:
    """One construct's item rows, as columns (indices into ``ItemTable``'s lists)."""

    units: Index
    periods: Index
    items: Index
    n: Ints
    total: Floats
    squares: Floats
    promoters: Ints
    passives: Ints
    detractors: Ints
    top2: Ints
    nps: Flags  # an NPS-scale item (categories, no top-two box)
    low: Ints  # scale_min
    high: Ints  # scale_max
    n_xt: Ints
    sum_xt: Floats


@dataclass(frozen=True)
class ItemTable:
    units: list[str]
    periods: list[str]
    item_ids: list[str]
    constructs: dict[str, ItemColumns]


def item_table(rows: Sequence[ItemRow]) -> ItemTable:
    """Item rows as columns per construct, each construct's rows in their order."""
    units: dict[str, int] = {}
    periods: dict[str, int] = {}
    items: dict[str, int] = {}
    grouped: dict[str, list[ItemRow]] = {}
    for r in rows:
        grouped.setdefault(r.construct, []).append(r)
    constructs: dict[str, ItemColumns] = {}
    for construct, group in grouped.items():
        constructs[construct] = ItemColumns(
            units=np.array([units.setdefault(r.unit_id, len(units)) for r in group], np.intp),
            periods=np.array([periods.setdefault(r.period, len(periods)) for r in group], np.intp),
            items=np.array([items.setdefault(r.item_id, len(items)) for r in group], np.intp),
            n=np.array([r.n for r in group], np.int64),
            total=np.array([r.sum for r in group], np.float64),
            squares=np.array([r.sumsq for r in group], np.float64),
            promoters=np.array([r.promoters for r in group], np.int64),
            passives=np.array([r.passives for r in group], np.int64),
            detractors=np.array([r.detractors for r in group], np.int64),
            top2=np.array([r.top2 for r in group], np.int64),
            nps=np.array([r.nps_scale for r in group], np.bool_),
            low=np.array([r.scale_min for r in group], np.int64),
            high=np.array([r.scale_max for r in group], np.int64),
            n_xt=np.array([r.n_xt for r in group], np.int64),
            sum_xt=np.array([r.sum_xt for r in group], np.float64),
        )
    return ItemTable(list(units), list(periods), list(items), constructs)


def period_item_table(frozen: FrozenPeriod) -> ItemTable:
    """The period's item rows as columns, built on first use and kept with it."""
    found = frozen.memo.get(_ITEMS)
    if isinstance(found, ItemTable):
        return found
    table = item_table(frozen.items)
    units = period_columns(frozen).units
    if table.units == units:  # the usual case: one list, mapped once per report (ScopeRows)
        table = replace(table, units=units)
    frozen.memo[_ITEMS] = table
    return table
