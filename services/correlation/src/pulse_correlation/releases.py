"""Deterministic releases, pure (issue 13): what is released of one period is decided once,
for everyone, from that period's frozen data.

A period is released on a day fixed by its calendar and its waves, never by who reads it
(``ReleaseRule.release_day``): ``grace_days`` (``PULSE_RELEASE_GRACE_DAYS``, 2) after its
last day, and not before the day after every wave of the period has closed (the survey
service's ``pulse.wave.opened``/``pulse.wave.closed``), but never later than
``max_wait_days`` (``PULSE_RELEASE_MAX_WAIT_DAYS``, 31) after its last day (or, for a wave
opened after that, a backfill, after its opening day), so a wave that never closes cannot
hold a period back for ever. A period is frozen as a whole (employee,
customer and internal numbers together, so a linkage report relates numbers of one
release). The service's background task (``release_repository.freeze_due``) freezes each
period on its release day; a read on or after that day freezes it too if the task has not
yet (several instances: a per-period advisory lock, one freeze). Frozen are its aggregate
rows, the org as of its last day and the k of each measure. From then on every read of the
period, whoever asks and whatever was asked before, is decided from the frozen copy:
responses counted later (late arrivals, back-filled history) stay in the live aggregates
and never change a released number. They are shown as a separate correction, a count only
(``late_counts``): per construct, the live minus the frozen respondents of each unit,
released by the same whole-tree rule (its own k, complementary suppression), so a unit's
cell can say "N answers arrived after this period was published" (never their values).

Decisions (``decide``) are a function of the frozen period alone:
``confidentiality.release_hierarchy`` over the whole org tree from the virtual root, per
construct. A viewer, a scope, a dashboard page or a report only selects among these
released groups; none of them changes a decision."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from pulse_common.periods import period_end

from pulse_correlation.aggregates import ConstructRow, ItemRow, measure_key
from pulse_correlation.confidentiality import (
    Decision,
    Tree,
    atom_of,
    cell_id,
    effective_k,
    release_hierarchy,
)
from pulse_correlation.org import ORG_ROOT, OrgSnapshot

# Defaults of PULSE_RELEASE_GRACE_DAYS and PULSE_RELEASE_MAX_WAIT_DAYS.
GRACE_DAYS = 2
MAX_WAIT_DAYS = 31


@dataclass(frozen=True)
class WaveState:
    """One wave of a period: the day it opened (None: not known) and closed (None: open)."""

    opened_on: dt.date | None
    closed_on: dt.date | None


@dataclass(frozen=True)
class ReleaseRule:
    """When a period is released: ``grace_days`` after its last day, once every wave of it
    has closed, at the latest ``max_wait_days`` after its last day (a wave opened after
    that, a backfill, holds it at most ``max_wait_days`` after its own opening)."""

    grace_days: int = GRACE_DAYS
    max_wait_days: int = MAX_WAIT_DAYS

    def release_day(self, period: str, waves: Collection[WaveState]) -> dt.date:
        """The first day ``period`` is released: the day after its last wave closed, not
        before the grace and not after the ceiling. An open wave holds it until the
        ceiling, or, opened later (a backfill), until ``max_wait_days`` after it opened,
        so that a period is not frozen with half of a backfill."""
        end = period_end(period)
        wait = dt.timedelta(days=max(self.max_wait_days, self.grace_days) + 1)
        earliest = end + dt.timedelta(days=self.grace_days + 1)
        ceiling = end + wait
        still_open = [w for w in waves if w.closed_on is None]
        if still_open:
            return max([ceiling, *(w.opened_on + wait for w in still_open if w.opened_on)])
        closed = [w.closed_on for w in waves if w.closed_on is not None]
        waves_done = max(closed) + dt.timedelta(days=1) if closed else earliest
        return min(ceiling, max(earliest, waves_done))

    def released(self, period: str, waves: Collection[WaveState], today: dt.date) -> bool:
        return today >= self.release_day(period, waves)


@dataclass
class FrozenPeriod:
    """One released period: its rows as frozen, the org as of its last day, k per measure."""

    period: str
    org: OrgSnapshot
    rows: list[ConstructRow]
    items: list[ItemRow]
    measure_k: dict[str, int] = field(default_factory=dict)
    # decide() per deployment k: a frozen period never changes, so neither do its decisions.
    decided: dict[int, dict[str, PeriodDecision]] = field(default_factory=dict, repr=False)
    # ``rows`` and ``items`` per construct, in their order, grouped on first use (a frozen
    # period's rows are not changed once read): a report reads the few constructs it
    # relates without scanning every row of the period for each (issue 20).
    _rows_by: dict[str, list[ConstructRow]] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _items_by: dict[str, list[ItemRow]] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    # What other modules derive from the period once (``report_cells``), by name.
    memo: dict[str, object] = field(default_factory=dict, init=False, repr=False, compare=False)

    def tree(self) -> Tree:
        return Tree(ORG_ROOT, self.org.subtree_parents(ORG_ROOT))

    def rows_by_construct(self) -> dict[str, list[ConstructRow]]:
        if self._rows_by is None:
            grouped: dict[str, list[ConstructRow]] = {}
            for r in self.rows:
                grouped.setdefault(r.construct, []).append(r)
            self._rows_by = grouped
        return self._rows_by

    def items_by_construct(self) -> dict[str, list[ItemRow]]:
        if self._items_by is None:
            grouped: dict[str, list[ItemRow]] = {}
            for i in self.items:
                grouped.setdefault(i.construct, []).append(i)
            self._items_by = grouped
        return self._items_by

    def rows_of(self, construct: str) -> list[ConstructRow]:
        return self.rows_by_construct().get(construct, [])

    def items_of(self, construct: str) -> list[ItemRow]:
        return self.items_by_construct().get(construct, [])


@dataclass(frozen=True)
class PeriodDecision:
    """The release of one (period, construct) over the whole org."""

    construct: str
    population: str
    measure: str
    k: int
    decision: Decision
    atom: dict[str, str | None]  # unit (frozen org) -> nearest released unit at or above
    # (unit id as the row spells it, its atom) of every row of the construct with people,
    # in row order: what a report checks its analysis units against (issue 20).
    row_atoms: tuple[tuple[str, str | None], ...] = ()

    def atom_of_raw(self, org: OrgSnapshot, unit_id: str) -> str | None:
        """The atom holding a unit id as it appears in the rows (merged units resolved)."""
        return self.atom.get(org.canonical(unit_id))


def decide(frozen: FrozenPeriod, base_k: int) -> dict[str, PeriodDecision]:
    """Per construct of the period: the whole-tree decision (deterministic; kept on the
    frozen period)."""
    known = frozen.decided.get(base_k)
    if known is None:
        known = frozen.decided[base_k] = _decide(frozen, base_k)
    return known


def _decide(frozen: FrozenPeriod, base_k: int) -> dict[str, PeriodDecision]:
    tree = frozen.tree()
    own: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    population: dict[str, str] = {}
    for r in frozen.rows:
        unit = frozen.org.canonical(r.unit_id)
        population[r.construct] = r.population
        cell = cell_id(unit, frozen.period)
        counts = own[r.construct].setdefault(unit, {})
        counts[cell] = counts.get(cell, 0) + r.n
    decided: dict[str, PeriodDecision] = {}
    for construct in sorted(own):
        measure = measure_key(population[construct], construct)
        k = effective_k(base_k, frozen.measure_k, measure)
        decision = release_hierarchy(tree, own[construct], measure, k, releasable_root=False)
        atom = atom_of(tree, decision)
        row_atoms = tuple(
            (r.unit_id, atom.get(frozen.org.canonical(r.unit_id)))
            for r in frozen.rows_of(construct)
            if r.n > 0
        )
        decided[construct] = PeriodDecision(
            construct, population[construct], measure, k, decision, atom, row_atoms
        )
    return decided


def released_means(
    frozen: Sequence[FrozenPeriod], base_k: int, constructs: Collection[str]
) -> dict[str, dict[tuple[str, str], tuple[float, int]]]:
    """construct -> (unit, period) -> (mean, n) of every released unit's whole subtree: the
    numbers any viewer can be shown, for uses that need only means (actions)."""
    found: dict[str, dict[tuple[str, str], tuple[float, int]]] = {c: {} for c in constructs}
    for period in frozen:
        totals: dict[tuple[str, str], tuple[int, float]] = {}
        for r in period.rows:
            key = (r.construct, cell_id(period.org.canonical(r.unit_id), period.period))
            n, total = totals.get(key, (0, 0.0))
            totals[key] = (n + r.n, total + r.sum)
        for construct, decided in decide(period, base_k).items():
            if construct not in found:
                continue
            for unit, group in decided.decision.released.items():
                n = sum(totals[(construct, cell)][0] for cell in group.counts)
                total = sum(totals[(construct, cell)][1] for cell in group.counts)
                found[construct][(unit, period.period)] = (total / n, n)
    return found


def late_counts(
    frozen: FrozenPeriod, live: Iterable[ConstructRow], base_k: int
) -> dict[str, dict[str, int]]:
    """construct -> unit -> respondents counted after ``frozen`` was released (live minus
    frozen, over the unit's whole subtree), for the units whose late count is released:
    ``release_hierarchy`` over the frozen org on the late counts alone, with the measure's
    frozen k, so no two released late counts differ by 1..k-1 people. Units the frozen org
    does not know (created after the release) are left out. Counts only: the late answers'
    values are never released."""
    counted: dict[tuple[str, str], int] = defaultdict(int)
    population: dict[str, str] = {}
    for r in frozen.rows:
        counted[(r.construct, frozen.org.canonical(r.unit_id))] -= r.n
    for r in live:
        if r.period == frozen.period:
            counted[(r.construct, frozen.org.canonical(r.unit_id))] += r.n
            population[r.construct] = r.population
    own: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    for (construct, unit), late in counted.items():
        if late > 0 and construct in population:
            own[construct][unit] = {cell_id(unit, frozen.period): late}
    if not own:
        return {}
    tree = frozen.tree()
    found: dict[str, dict[str, int]] = {}
    for construct, counts in sorted(own.items()):
        measure = measure_key(population[construct], construct)
        k = effective_k(base_k, frozen.measure_k, measure)
        decision = release_hierarchy(tree, counts, measure, k, releasable_root=False)
        found[construct] = {unit: group.n for unit, group in decision.released.items()}
    return found
