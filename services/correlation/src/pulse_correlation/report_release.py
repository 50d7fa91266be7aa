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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from pulse_common.measures import EMPLOYEE, is_nps

from pulse_correlation.aggregates import ChannelRow, measure_key
from pulse_correlation.confidentiality import effective_k
from pulse_correlation.org import OrgSnapshot
from pulse_correlation.releases import FrozenPeriod, PeriodDecision, decide
from pulse_correlation.report_data import ReportData, construct_sums
from pulse_correlation.report_partition import atom_partition


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
    not released yet, and late arrivals into released ones, never enter a report."""
    rows = [r for f in frozen for r in f.rows]
    wanted = {i.construct for i in data.items} | set(data.measures.by_construct)
    in_scope = data.scope.units()
    return replace(
        data,
        constructs=construct_sums(rows, data.scope),
        employee_constructs=frozenset(
            r.construct
            for r in rows
            if r.population == EMPLOYEE and data.scope.org.canonical(r.unit_id) in in_scope
        ),
        items=[i for f in frozen for i in f.items if i.construct in wanted],
        channels=list(channels),
        # Cronbach's alpha reads the frozen rows too (``report_reliability``).
        rows=[r for r in rows if data.scope.org.canonical(r.unit_id) in in_scope],
    )


class _Atoms:
    """Per released period: which atom holds each unit's people, per construct."""

    def __init__(self, frozen: Sequence[FrozenPeriod], base_k: int, scope_org: OrgSnapshot):
        self.scope_org = scope_org
        self.periods: list[tuple[FrozenPeriod, dict[str, PeriodDecision]]] = [
            (f, decide(f, base_k)) for f in frozen
        ]
        self.units: dict[tuple[str, str], list[str]] = defaultdict(list)
        for f in frozen:
            for r in f.rows:
                if r.n > 0:
                    self.units[(f.period, r.construct)].append(r.unit_id)

    def k_of(self, measure: str) -> int | None:
        found = [d.k for _, ds in self.periods for d in ds.values() if d.measure == measure]
        return max(found) if found else None

    def whole(self, members: set[str], construct: str) -> bool:
        """Whether the people of ``members`` (units of the report's org) answering
        ``construct`` are, in every released period, a union of released atoms."""
        for frozen, decided in self.periods:
            decision = decided.get(construct)
            raw = self.units.get((frozen.period, construct), [])
            inside = [u for u in raw if self.scope_org.canonical(u) in members]
            if not inside:
                continue
            if decision is None:
                return False
            atoms = {decision.atom_of_raw(frozen.org, u) for u in inside}
            if None in atoms:
                return False
            for unit in raw:
                if decision.atom_of_raw(frozen.org, unit) in atoms and (
                    self.scope_org.canonical(unit) not in members
                ):
                    return False
        return True


def release_report(data: ReportData, frozen: Sequence[FrozenPeriod], base_k: int) -> Release:
    """Release analysis units, then the scope totals (no state: the same data and frozen
    periods give the same release to every viewer)."""
    measures = data.measures.by_construct
    atoms = _Atoms(frozen, base_k, data.scope.org)
    k_of = {m: atoms.k_of(m) or effective_k(base_k, data.measure_k, m) for m in data.measures.all}
    own: dict[str, dict[str, int]] = defaultdict(dict)
    for construct, measure in measures.items():
        for (unit, _), s in data.cells(construct).items():
            own[unit][measure] = own[unit].get(measure, 0) + s.n
    partition = atom_partition(data.scope.tree, data.scope.org, atoms.periods, own, measures, k_of)
    suppressions = dict(partition.reasons)
    members = dict(sorted(partition.members.items()))
    shown = {m for ms in members.values() for m in ms}
    outcome = data.measures.outcome
    outcome_total = bool(members) and atoms.whole(shown, outcome)
    nps_total = False
    if members and not is_nps(outcome):
        nps = data.measures.nps_construct
        n = sum(s.n for (u, _), s in data.cells(nps).items() if u in shown)
        nps_total = n >= k_of[measure_key(data.measures.population, nps)] and atoms.whole(
            shown, nps
        )
    return Release(members, suppressions, k_of, outcome_total, nps_total)
