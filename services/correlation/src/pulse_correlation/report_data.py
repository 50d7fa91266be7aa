"""Loading what a linkage report reads: the org, the scope and the aggregates in it, with
merged units mapped to the unit their data counts under. Reads only; the release and the
statistics that follow are pure."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import cast

from pulse_common.db import Connection
from pulse_common.measures import (
    EMPLOYEE,
    INTERNAL,
    INTERNAL_PREFIX,
    TREATMENT_PREFIX,
    Population,
    outcome_population,
    stored_construct,
)

from pulse_correlation import aggregate_repository as aggregates_repo
from pulse_correlation.access import Scope, as_of, resolve_scope
from pulse_correlation.aggregates import ChannelRow, ConstructRow, ItemRow, Sums, measure_key
from pulse_correlation.covariates import CHANNEL_MIX
from pulse_correlation.org import UnitVersion
from pulse_correlation.releases import FrozenPeriod
from pulse_correlation.report_cells import ItemTable, PeriodColumns, ReportCells
from pulse_correlation.report_model import ReportRequest

# construct -> (unit, period) -> sums
ConstructSums = dict[str, dict[tuple[str, str], Sums]]
_PRESENCE = "report_data.presence"


def predictor_population(predictor: str) -> Population:
    """Employee constructs, or an internal-service measure (``internal.csat``) counted under
    the rated (serving) unit."""
    return INTERNAL if predictor.startswith(INTERNAL_PREFIX) else EMPLOYEE


@dataclass(frozen=True)
class ReportMeasures:
    """What a report relates: predictors (employee constructs or internal-service measures)
    to one outcome."""

    outcome: str
    population: Population  # the outcome's
    predictors: list[str]

    @property
    def nps_construct(self) -> str:
        """The NPS of the outcome's population, reported beside any outcome."""
        return stored_construct(self.population, "nps")

    @property
    def by_construct(self) -> dict[str, str]:
        """Measure key of every predictor, then of the outcome."""
        keys = {p: measure_key(predictor_population(p), p) for p in self.predictors}
        keys[self.outcome] = measure_key(self.population, self.outcome)
        return keys

    @property
    def all(self) -> set[str]:
        return {*self.by_construct.values(), measure_key(self.population, self.nps_construct)}


@dataclass(frozen=True)
class ReportData:
    scope: Scope
    measures: ReportMeasures
    constructs: ConstructSums
    employee_constructs: frozenset[str]
    items: list[ItemRow]
    channels: list[ChannelRow]  # of the outcome's population; only for channel_mix
    measure_k: dict[str, int]
    # The scope's construct rows as stored (per unit as attributed), for Cronbach's alpha.
    rows: list[ConstructRow] = field(default_factory=list)
    # The constructs whose item rows a report reads (None: those of ``items``).
    item_constructs: frozenset[str] | None = None
    # The cells as arrays (``report_cells``), in place of ``constructs`` when given.
    arrays: ReportCells | None = None
    # The item rows as columns, per frozen period (``report_item_sums``), when given.
    item_tables: list[ItemTable] | None = None
    # The construct rows as columns, per frozen period (Cronbach's alpha), when given.
    row_tables: list[PeriodColumns] | None = None

    @cached_property
    def cell_arrays(self) -> ReportCells:
        return self.arrays if self.arrays is not None else ReportCells.from_sums(self.constructs)

    @cached_property
    def periods(self) -> list[str]:
        """Computed once per instance (the unit table asks per cell; ``constructs`` is not
        changed after construction, and ``replace`` makes a new instance)."""
        if self.arrays is not None:
            return list(self.arrays.periods)
        return sorted({p for cells in self.constructs.values() for (_, p) in cells})

    def cells(self, construct: str) -> dict[tuple[str, str], Sums]:
        if self.arrays is not None and construct not in self.constructs:
            return self._from_arrays(construct)
        return self.constructs.get(construct, {})

    @cached_property
    def _array_cells(self) -> ConstructSums:
        return {}

    def _from_arrays(self, construct: str) -> dict[tuple[str, str], Sums]:
        found = self._array_cells.get(construct)
        if found is None and self.arrays is not None:
            found = self._array_cells[construct] = self.arrays.as_sums(construct)
        return found or {}


class ScopedUnits:
    """A unit id as the rows spell it -> the unit its data counts under (merged units
    resolved) when that unit is in scope, else "" (remembered: rows repeat few units)."""

    def __init__(self, scope: Scope) -> None:
        self._org = scope.org
        self._in_scope = scope.units()
        self._known: dict[str, str] = {}

    def __call__(self, unit_id: str) -> str:
        found = self._known.get(unit_id)
        if found is None:
            unit = self._org.canonical(unit_id)
            found = self._known[unit_id] = unit if unit in self._in_scope else ""
        return found


def construct_sums(rows: Iterable[ConstructRow], scope: Scope) -> ConstructSums:
    """Sums per construct and (canonical unit, period), in scope only."""
    scoped = ScopedUnits(scope)
    found: dict[str, dict[tuple[str, str], Sums]] = defaultdict(dict)
    for r in rows:
        unit = scoped(r.unit_id)
        if unit:
            found[r.construct].setdefault((unit, r.period), Sums()).add(r.n, r.sum, r.sumsq)
    return dict(found)


def report_measures(request: ReportRequest, employee_constructs: Iterable[str]) -> ReportMeasures:
    """The request's predictors, or every treatment construct with data in scope."""
    predictors = list(request.predictors) or sorted(
        c for c in employee_constructs if c.startswith(TREATMENT_PREFIX)
    )
    return ReportMeasures(request.outcome, outcome_population(request.outcome), predictors)


@dataclass(frozen=True)
class PresentIn:
    """Which units have data in some periods, and which units have each employee construct
    (per construct: a report asks whether any of them is in its scope, period by period,
    and stops at the first; no step per row)."""

    units: frozenset[str]
    employee: dict[str, frozenset[str]]

    @staticmethod
    def of(rows: Iterable[tuple[str, str, str]]) -> PresentIn:
        """From (unit, construct, population) triples."""
        units: set[str] = set()
        employee: dict[str, set[str]] = defaultdict(set)
        for unit_id, construct, population in rows:
            units.add(unit_id)
            if population == EMPLOYEE:
                employee[construct].add(unit_id)
        return PresentIn(frozenset(units), {c: frozenset(u) for c, u in employee.items()})


def frozen_presence(frozen: FrozenPeriod) -> PresentIn:
    """What a frozen period's rows have, derived once per period."""
    found = frozen.memo.get(_PRESENCE)
    if found is None:
        found = frozen.memo[_PRESENCE] = PresentIn.of(
            (r.unit_id, r.construct, r.population) for r in frozen.rows
        )
    return cast(PresentIn, found)


async def load_report_data(
    conn: Connection,
    request: ReportRequest,
    today: dt.date,
    versions: Sequence[UnitVersion],
    frozen: Sequence[FrozenPeriod],
) -> ReportData:
    """The report's scope and measures. Which units have which constructs comes from the
    released periods as frozen (what a report reads) and, for periods of the range not
    released yet, from one query on those periods only; so nothing here grows with the
    responses (issue 20), and an answer arriving after its period was released changes
    neither scope nor default predictors, as it changes no released number. No aggregate
    row is read here: a report's sums, items and rows are those of its released periods
    (``frozen_report_data``); ``item_constructs`` says which constructs' item rows they
    give."""
    released = {f.period for f in frozen}
    live = await aggregates_repo.live_periods(conn, request.period_from, request.period_to)
    unreleased = await aggregates_repo.construct_presence(
        conn, [p for p in live if p not in released]
    )
    parts = [
        *(frozen_presence(f) for f in frozen),
        PresentIn.of((p.unit_id, p.construct, p.population) for p in unreleased),
    ]
    scope = resolve_scope(
        versions,
        as_of(request.period_to, today),
        frozenset().union(*(part.units for part in parts)),
        request.viewer,
        request.scope_unit_id,
    )
    in_scope = scope.units()
    canonical = scope.org.canonical

    def in_scope_has(construct: str) -> bool:
        return any(
            canonical(unit_id) in in_scope
            for part in parts
            for unit_id in part.employee.get(construct, ())
        )

    employee_constructs = frozenset(
        c for c in {c for part in parts for c in part.employee} if in_scope_has(c)
    )
    measures = report_measures(request, employee_constructs)
    channels = (
        await aggregates_repo.channel_rows(
            conn, measures.population, request.period_from, request.period_to
        )
        if CHANNEL_MIX in request.covariates
        else []
    )
    return ReportData(
        scope=scope,
        measures=measures,
        constructs={},
        employee_constructs=employee_constructs,
        items=[],
        channels=channels,
        measure_k=await aggregates_repo.measure_ks(conn),
        item_constructs=frozenset(
            {*employee_constructs, *measures.predictors, measures.outcome, measures.nps_construct}
        ),
    )
