"""Confidentiality release of a linkage report, pure (the ledger is in memory).

Analysis units are disjoint (``confidentiality.partition_units``): a unit whose employees on
any predictor, or customers on the outcome, number fewer than k over the range joins its
parent. Each released unit's predictor and outcome values are then ledgered for the viewer
(differencing rule); a unit the ledger refuses is dropped (``differencing``). The
scope-level customer metrics (outcome and NPS over the union of released units) are
ledgered like any group. k is per measure (``confidentiality.effective_k``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from pulse_common.measures import is_nps

from pulse_correlation.aggregates import measure_key
from pulse_correlation.confidentiality import (
    DIFFERENCING,
    Group,
    Ledger,
    cell_id,
    make_group,
    partition_units,
)
from pulse_correlation.report_data import ReportData


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


def _total_group(data: ReportData, members: dict[str, list[str]], construct: str) -> Group:
    """Every cell of ``construct`` of the released units, as one group."""
    cells = data.cells(construct)
    return make_group(
        measure_key(data.measures.population, construct),
        {
            cell_id(m, p): cells[(m, p)].n
            for u in sorted(members)
            for m in members[u]
            for p in data.periods
            if (m, p) in cells
        },
    )


def release_report(data: ReportData, ledger: Ledger) -> Release:
    """Release analysis units, then the scope totals; every release is recorded in
    ``ledger``."""
    measures = data.measures.by_construct
    k_of = {m: ledger.k_for(m) for m in data.measures.all}
    own: dict[str, dict[str, int]] = defaultdict(dict)
    for construct, measure in measures.items():
        for (unit, _), s in data.cells(construct).items():
            own[unit][measure] = own[unit].get(measure, 0) + s.n
    partition = partition_units(data.scope.tree, own, sorted(set(measures.values())), k_of)
    periods = data.periods
    suppressions = dict(partition.reasons)
    members: dict[str, list[str]] = {}
    for root, units in sorted(partition.members.items()):
        groups = [
            make_group(
                measure,
                {
                    cell_id(m, p): data.cells(c)[(m, p)].n
                    for m in units
                    for p in periods
                    if (m, p) in data.cells(c)
                },
            )
            for c, measure in measures.items()
        ]
        if all(ledger.allows(g) for g in groups):
            for g in groups:
                ledger.release(g)
            members[root] = units
        else:
            suppressions[root] = DIFFERENCING
    outcome = data.measures.outcome
    outcome_total = bool(members) and ledger.release(_total_group(data, members, outcome))
    nps_total = False
    if members and not is_nps(outcome):
        nps_group = _total_group(data, members, data.measures.nps_construct)
        nps_total = nps_group.n >= k_of[nps_group.measure] and ledger.release(nps_group)
    return Release(members, suppressions, k_of, outcome_total, nps_total)
