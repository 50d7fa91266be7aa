"""Loading what a linkage report reads: the org, the scope and the aggregates in it, with
merged units mapped to the unit their data counts under. Reads only; the release and the
statistics that follow are pure."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from pulse_common.db import Connection
from pulse_common.measures import (
    EMPLOYEE,
    TREATMENT_PREFIX,
    Population,
    outcome_population,
    stored_construct,
)

from pulse_correlation import aggregate_repository as aggregates_repo
from pulse_correlation import org_repository as org_repo
from pulse_correlation.access import Scope, as_of, resolve_scope
from pulse_correlation.aggregates import ChannelRow, ConstructRow, ItemRow, Sums, measure_key
from pulse_correlation.covariates import CHANNEL_MIX
from pulse_correlation.report_model import ReportRequest

# construct -> (unit, period) -> sums
ConstructSums = dict[str, dict[tuple[str, str], Sums]]


@dataclass(frozen=True)
class ReportMeasures:
    """What a report relates: predictors (employee constructs) to one outcome."""

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
        keys = {p: measure_key(EMPLOYEE, p) for p in self.predictors}
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

    @property
    def periods(self) -> list[str]:
        return sorted({p for cells in self.constructs.values() for (_, p) in cells})

    def cells(self, construct: str) -> dict[tuple[str, str], Sums]:
        return self.constructs.get(construct, {})


def construct_sums(rows: Iterable[ConstructRow], scope: Scope) -> ConstructSums:
    """Sums per construct and (canonical unit, period), in scope only."""
    in_scope = scope.units()
    found: dict[str, dict[tuple[str, str], Sums]] = defaultdict(dict)
    for r in rows:
        unit = scope.org.canonical(r.unit_id)
        if unit in in_scope:
            found[r.construct].setdefault((unit, r.period), Sums()).add(r.n, r.sum, r.sumsq)
    return dict(found)


def report_measures(request: ReportRequest, employee_constructs: Iterable[str]) -> ReportMeasures:
    """The request's predictors, or every treatment construct with data in scope."""
    predictors = list(request.predictors) or sorted(
        c for c in employee_constructs if c.startswith(TREATMENT_PREFIX)
    )
    return ReportMeasures(request.outcome, outcome_population(request.outcome), predictors)


async def load_report_data(conn: Connection, request: ReportRequest, today: dt.date) -> ReportData:
    versions = await org_repo.load_org(conn)
    rows = await aggregates_repo.construct_rows(conn, request.period_from, request.period_to, None)
    scope = resolve_scope(
        versions,
        as_of(request.period_to, today),
        (r.unit_id for r in rows),
        request.viewer,
        request.scope_unit_id,
    )
    constructs = construct_sums(rows, scope)
    in_scope = scope.units()
    employee_constructs = frozenset(
        r.construct
        for r in rows
        if r.population == EMPLOYEE and scope.org.canonical(r.unit_id) in in_scope
    )
    measures = report_measures(request, employee_constructs)
    wanted = sorted(
        {*employee_constructs, *measures.predictors, measures.outcome, measures.nps_construct}
    )
    items = await aggregates_repo.item_rows(conn, request.period_from, request.period_to, wanted)
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
        constructs=constructs,
        employee_constructs=employee_constructs,
        items=items,
        channels=channels,
        measure_k=await aggregates_repo.measure_ks(conn),
    )
