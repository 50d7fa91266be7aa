"""Sums of a linkage report's released analysis units, pure, as arrays (issue 20): per
construct, the member cells of each released unit added per period and over the range.

Additions keep the order of adding the cells one by one, member by member (and, over the
range, period by period within each member): ``numpy.cumsum`` adds sequentially, so every
sum is the same floating-point number as before the arrays (an absent cell adds 0)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pulse_correlation.report_cells import Floats, Index, Ints, ReportCells
from pulse_correlation.report_model import UnitSums


def _running_total(values: Floats, axis: int) -> Floats:
    """Sequential sums along ``axis`` (0.0 when empty), in index order."""
    if values.shape[axis] == 0:
        shape = list(values.shape)
        del shape[axis]
        return np.zeros(shape, dtype=np.float64)
    last = np.cumsum(values, axis=axis).take(-1, axis=axis)
    return np.asarray(last, dtype=np.float64)


def _means(total: Floats, n: Ints) -> Floats:
    """total / n, NaN where n is 0 (``Sums.mean``)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        found = total / np.where(n > 0, n, 1)
    return np.asarray(np.where(n > 0, found, np.nan), dtype=np.float64)


def period_sums(n: Ints, total: Floats, squares: Floats) -> list[UnitSums]:
    """Per period (column) with answers: the units (rows) with answers in it, as aligned
    arrays (ICC per period: each person answers once a period)."""
    answered = n > 0
    found = []
    for j in np.flatnonzero(answered.any(axis=0)).tolist():
        at = answered[:, j]
        if at.all():
            found.append(UnitSums(n[:, j], total[:, j], squares[:, j]))
        else:
            found.append(UnitSums(n[at, j], total[at, j], squares[at, j]))
    return found


@dataclass(frozen=True)
class UnitSeries:
    """One construct: rows are released units, columns the report's periods."""

    n: Ints
    total: Floats
    squares: Floats
    range_n: Ints
    range_total: Floats
    range_squares: Floats

    def means(self) -> Floats:
        """Per unit and period."""
        return _means(self.total, self.n)

    def range_means(self) -> list[float]:
        values: list[float] = _means(self.range_total, self.range_n).tolist()
        return values

    def period_sums(self) -> list[UnitSums]:
        return period_sums(self.n, self.total, self.squares)

    def totals(self) -> tuple[int, float, float]:
        """Over every unit and the range, units added in order."""
        return (
            int(self.range_n.sum()),
            float(_running_total(self.range_total, 0)),
            float(_running_total(self.range_squares, 0)),
        )


class UnitCells:
    """``UnitSeries`` of each construct asked for, computed once."""

    def __init__(
        self, cells: ReportCells, units: Sequence[str], members: Mapping[str, Sequence[str]]
    ) -> None:
        self._cells = cells
        self._rows = [[cells.row[m] for m in members[u] if m in cells.row] for u in units]
        # Every unit one member cell row (no merged units): its rows are taken as they are.
        self._single: Index | None = None
        if self._rows and all(len(rows) == 1 for rows in self._rows):
            self._single = np.array([rows[0] for rows in self._rows], dtype=np.intp)
        self._known: dict[str, UnitSeries] = {}

    def of(self, construct: str) -> UnitSeries:
        found = self._known.get(construct)
        if found is None:
            found = self._known[construct] = self._series(construct)
        return found

    def _series(self, construct: str) -> UnitSeries:
        m = self._cells.matrix(construct)
        periods = m.n.shape[1]
        if self._single is not None:
            at = self._single
            n, total, squares = m.n[at], m.total[at], m.squares[at]
            return UnitSeries(
                n,
                total,
                squares,
                n.sum(axis=1),
                _running_total(total, 1),
                _running_total(squares, 1),
            )
        count = len(self._rows)
        n = np.zeros((count, periods), dtype=np.int64)
        total = np.zeros((count, periods), dtype=np.float64)
        squares = np.zeros((count, periods), dtype=np.float64)
        range_total = np.zeros(count, dtype=np.float64)
        range_squares = np.zeros(count, dtype=np.float64)
        for i, rows in enumerate(self._rows):
            if not rows:
                continue
            n[i] = m.n[rows].sum(axis=0)
            total[i] = _running_total(m.total[rows], 0)
            squares[i] = _running_total(m.squares[rows], 0)
            range_total[i] = _running_total(m.total[rows].ravel(), 0)
            range_squares[i] = _running_total(m.squares[rows].ravel(), 0)
        return UnitSeries(n, total, squares, n.sum(axis=1), range_total, range_squares)
