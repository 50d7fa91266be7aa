"""Confidentiality release of a linkage report, pure, from the frozen released periods.

Analysis units are disjoint unions of the atoms of each released period's deterministic
release (``report_partition``): units sharing an atom are one analysis unit, and one with
fewer than k employees on any predictor, or customers on the outcome, over the range joins
its parent's. So no report total, with any released number, singles out fewer than k
people. The scope-level NPS (over the union of shown units) is shown only if it is a union
of that construct's atoms too. Only released periods enter a report
(``frozen_report_data``). k is per measure, frozen per period."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from pulse_common.measures import is_nps

from pulse_correlation.aggregates import ChannelRow, measure_key
from pulse_correlation.confidentiality import effective_k
from pulse_correlation.releases import FrozenPeriod, PeriodDecision, decide
from pulse_correlation.report_cells import (
    ScopeRows,
    period_columns,
    period_item_table,
    report_cells,
)
from pulse_correlation.report_data import ReportData
from pulse_correlation.report_partition import atom_partition, row_atoms


@dataclass(frozen=True)
class Release:
    members: dict[str, list[str]]  # released analysis unit -> the units whose people it holds
    suppressions: dict[str, str]  # unit -> reason
    k_of: dict[str, int]  # measure -> k applied
    outcome_total: bool  # the scope-level outcome metrics may be shown
    nps_total: bool  # the scope-level NPS may be shown beside a non-NPS outcome

    @property
    def units(self) -> list[str]:
        return sorted(self.members)

    @property
    def owner_of(self) -> dict[str, str]:
        """member unit -> the released analysis unit holding it"""
        return {m: u for u, ms in self.members.items() for m in ms}


def frozen_report_data(
    data: ReportData, frozen: Sequence[FrozenPeriod], channels: Iterable[ChannelRow]
) -> ReportData:
    """``data`` with its sums replaced by those of the released periods as frozen: periods
    not released yet, and late arrivals into released ones, never enter a report.

    The cells come as arrays (``report_cells``), the frozen rows and item rows as the
    periods' columns (``row_tables``, ``item_tables``: Cronbach's alpha and item sums)."""
    wanted = (
        {i.construct for i in data.items}
        if data.item_constructs is None
        else set(data.item_constructs)
    ) | set(data.measures.by_construct)
    arrays = report_cells(frozen, data.scope)
    return replace(
        data,
        constructs={},
        arrays=arrays,
        item_constructs=frozenset(wanted),
        item_tables=[period_item_table(f) for f in frozen],
        row_tables=[period_columns(f) for f in frozen],
        employee_constructs=arrays.employee,
        items=[],  # item sums and Cronbach's alpha read ``item_tables``
        channels=list(channels),
        rows=[],  # Cronbach's alpha reads ``row_tables``
    )


class _Atoms:
    """Per released period: which atom holds each unit's people, per construct."""

    def __init__(self, frozen: Sequence[FrozenPeriod], base_k: int, rows_of: ScopeRows):
        self.rows_of = rows_of
        self.periods: list[tuple[FrozenPeriod, dict[str, PeriodDecision]]] = [
            (f, decide(f, base_k)) for f in frozen
        ]

    def k_of(self, measure: str) -> int | None:
        found = [d.k for _, ds in self.periods for d in ds.values() if d.measure == measure]
        return max(found) if found else None

    def whole(self, members: Collection[str], construct: str) -> bool:
        """Whether the people of ``members`` (units of the report's scope) answering
        ``construct`` are, in every released period, a union of released atoms."""
        flags = np.zeros(len(self.rows_of.units) + 1, dtype=np.bool_)  # last: outside
        flags[[self.rows_of.row[u] for u in members]] = True
        for f, decided in self.periods:
            decision = decided.get(construct)
            if decision is None:  # no row of the construct in the period
                continue
            table = row_atoms(f, decision)
            member = flags[self.rows_of(table.units)[table.unit]]
            atoms = table.atom[member]
            if not atoms.size:
                continue
            if not atoms.all():  # atom 0: people in no released group
                return False
            held = np.zeros(table.atoms, dtype=np.bool_)
            held[atoms] = True
            if (held[table.atom] & ~member).any():
                return False
        return True


def release_report(data: ReportData, frozen: Sequence[FrozenPeriod], base_k: int) -> Release:
    """Release analysis units, then the scope totals (no state: the same data and frozen
    periods give the same release to every viewer)."""
    measures = data.measures.by_construct
    rows_of = ScopeRows.of(data.arrays, data.scope)
    atoms = _Atoms(frozen, base_k, rows_of)
    k_of = {m: atoms.k_of(m) or effective_k(base_k, data.measure_k, m) for m in data.measures.all}
    cells = data.cell_arrays
    own: dict[str, dict[str, int]] = defaultdict(dict)
    for construct, measure in measures.items():
        matrix = cells.matrix(construct)
        counts = matrix.n.sum(axis=1).tolist()
        for i in np.flatnonzero(matrix.present.any(axis=1)).tolist():
            unit = cells.units[i]
            own[unit][measure] = own[unit].get(measure, 0) + counts[i]
    partition = atom_partition(data.scope.tree, rows_of, atoms.periods, own, measures, k_of)
    suppressions = dict(partition.reasons)
    members = dict(sorted(partition.members.items()))
    shown = {m for ms in members.values() for m in ms}
    outcome = data.measures.outcome
    outcome_total = bool(members) and atoms.whole(shown, outcome)
    nps_total = False
    if members and not is_nps(outcome):
        nps = data.measures.nps_construct
        counts = cells.matrix(nps).n.sum(axis=1).tolist()
        n = sum(counts[cells.row[u]] for u in shown if u in cells.row)
        nps_total = n >= k_of[measure_key(data.measures.population, nps)] and atoms.whole(
            shown, nps
        )
    return Release(members, suppressions, k_of, outcome_total, nps_total)
