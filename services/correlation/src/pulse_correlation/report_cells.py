"""The cells of a linkage report as arrays, pure (issue 20): per construct, respondents,
sum and sum of squares of every (unit of the scope, period) as (units x periods) numpy
arrays, so what a report does with them costs units x periods array operations, not a
Python object per aggregate row.

Each frozen period's construct rows are turned into columns once
(``period_columns``, kept on the period like its decisions: a frozen period never
changes). A report maps the period's few distinct unit ids to rows of its scope (merged
units resolved), then adds the columns into the arrays with ``numpy.add.at``, which adds
in the rows' order: every cell's sums are the same floating-point sums, in the same order,
as adding the rows one by one (``report_data.construct_sums``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class ReportCells:
    """Every construct's cells of a report: rows are ``units``, columns ``periods``."""

    units: list[str]
    periods: list[str]
    matrices: dict[str, CellMatrix]
    employee: frozenset[str] = frozenset()  # constructs with employee rows in scope
    row: dict[str, int] = field(default_factory=dict)

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
    in_scope = scope.units()
    units = sorted(in_scope)
    row = {u: i for i, u in enumerate(units)}
    known: dict[str, int] = {}
    parts: dict[str, list[tuple[str, Index, ConstructColumns, Flags]]] = {}
    employee: set[str] = set()
    periods: set[str] = set()
    for f in frozen:
        columns = period_columns(f)
        rows_of_codes = np.empty(len(columns.units), dtype=np.intp)
        for code, unit_id in enumerate(columns.units):
            found = known.get(unit_id)
            if found is None:
                found = known[unit_id] = row.get(scope.org.canonical(unit_id), -1)
            rows_of_codes[code] = found
        for construct, c in columns.constructs.items():
            rows = rows_of_codes[c.codes]
            keep = rows >= 0
            if not keep.any():
                continue
            periods.add(f.period)
            if c.employee[keep].any():
                employee.add(construct)
            parts.setdefault(construct, []).append((f.period, rows, c, keep))
    ordered = sorted(periods)
    column = {p: j for j, p in enumerate(ordered)}
    shape = (len(units), len(ordered))
    matrices: dict[str, CellMatrix] = {}
    for construct, found_parts in parts.items():
        m = CellMatrix(
            np.zeros(shape, dtype=np.int64),
            np.zeros(shape, dtype=np.float64),
            np.zeros(shape, dtype=np.float64),
            np.zeros(shape, dtype=np.bool_),
        )
        for period, rows, c, keep in found_parts:
            at = (rows[keep], np.full(int(keep.sum()), column[period], dtype=np.intp))
            np.add.at(m.n, at, c.n[keep])
            np.add.at(m.total, at, c.total[keep])
            np.add.at(m.squares, at, c.squares[keep])
            m.present[at] = True
        matrices[construct] = m
    return ReportCells(units, ordered, matrices, frozenset(employee), row)


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
    frozen.memo[_ITEMS] = table
    return table
