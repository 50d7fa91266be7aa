"""A linkage report's sums as arrays (issue 20: ``report_cells``, ``report_unit_sums``,
``report_item_sums``) are the very numbers adding the rows one at a time gives: over random
orgs with merged units (analysis units of several members), reorganised frozen orgs, NPS
and non-NPS outcomes, empty cells and cells whose items do not cover every respondent;
Cronbach's alpha from the period tables equals ``construct_reliability`` on the rows."""

from __future__ import annotations

import math
import random
from dataclasses import asdict, replace

import pytest
from pulse_common.measures import CUSTOMER, EMPLOYEE
from pulse_correlation.access import Scope, Viewer
from pulse_correlation.aggregates import ConstructRow, ItemRow, Sums
from pulse_correlation.confidentiality import Tree
from pulse_correlation.org import ORG_ROOT, OrgSnapshot, UnitInfo
from pulse_correlation.releases import FrozenPeriod
from pulse_correlation.report_data import (
    ReportData,
    ReportMeasures,
    ScopedUnits,
    construct_sums,
)
from pulse_correlation.report_model import Options, ReportRequest
from pulse_correlation.report_release import Release, frozen_report_data, release_report
from pulse_correlation.report_reliability import linkage_reliability
from pulse_correlation.unit_table import build_unit_table

FAIR, SUP, ENPS, CSAT, NPS = "treatment.fairness", "treatment.support", "enps", "csat", "nps"
ITEMS = {
    FAIR: [("f1", 1, 5), ("f2", 1, 5)],
    SUP: [("s1", 1, 5), ("s2", 1, 7)],
    ENPS: [("e1", 0, 10)],
    CSAT: [("c1", 1, 5)],
    NPS: [("n1", 0, 10)],
}
POPULATION = {FAIR: EMPLOYEE, SUP: EMPLOYEE, ENPS: EMPLOYEE, CSAT: CUSTOMER, NPS: CUSTOMER}


def _rows(
    rng: random.Random, unit: str, period: str, big: bool
) -> tuple[list[ConstructRow], list[ItemRow]]:
    rows, items = [], []
    for construct in POPULATION:
        n = rng.randint(0, 30 if big else 6)
        if rng.random() < 0.15 or (n == 0 and rng.random() < 0.7):
            continue
        mean = rng.uniform(20, 90)
        spread = n * (mean * mean + rng.uniform(0, 300))
        rows.append(
            ConstructRow(unit, period, construct, POPULATION[construct], n, n * mean, spread)
        )
        for item, low, high in ITEMS[construct]:
            if rng.random() < 0.1:
                continue
            m = n if rng.random() < 0.85 else max(0, n - 1)
            value = rng.uniform(low, high)
            promoters = rng.randint(0, m) if high == 10 else 0
            passives = rng.randint(0, m - promoters) if high == 10 else 0
            detractors = m - promoters - passives if high == 10 else 0
            top2 = rng.randint(0, m) if high != 10 else 0
            items.append(
                ItemRow(
                    unit, period, item, construct, low, high, m, m * value,
                    m * (value * value + rng.uniform(0, 2)), promoters, passives, detractors,
                    top2, m, m * value * mean,
                )
            )  # fmt: skip
    return rows, items


def world(seed: int) -> tuple[ReportData, list[FrozenPeriod], int, ReportRequest]:
    rng = random.Random(seed)
    units = [f"u{i:02d}" for i in range(rng.randint(3, 14))]
    parents = {u: rng.choice([ORG_ROOT, *units[:i]]) for i, u in enumerate(units)}
    merged: dict[str, str] = {}
    for unit in units[1:]:
        target = rng.choice([v for v in units if v != unit])
        if rng.random() < 0.25 and target not in merged and unit not in merged.values():
            merged[unit] = target
    live = {
        u: UnitInfo(u, parents[u] if parents[u] not in merged else ORG_ROOT, u, "")
        for u in units
        if u not in merged
    }
    scope_org = OrgSnapshot(live, merged)
    periods = [f"2026-{m:02d}" for m in range(1, rng.randint(2, 7))]
    frozen = []
    for period in periods:
        rows: list[ConstructRow] = []
        items: list[ItemRow] = []
        big = rng.random() < 0.7
        for unit in rng.sample(units, len(units)):
            found_rows, found_items = _rows(rng, unit, period, big)
            rows += found_rows
            items += found_items
        everyone = {u: UnitInfo(u, parents[u], u, "") for u in units}
        org = OrgSnapshot(everyone, {})
        if rng.random() < 0.5:  # the merges already happened when the period was frozen
            org = OrgSnapshot({u: i for u, i in everyone.items() if u not in merged}, merged)
        frozen.append(FrozenPeriod(period, org, rows, items, {}))
    outcome = rng.choice([CSAT, NPS])
    predictors = [FAIR, SUP] if rng.random() < 0.7 else [FAIR]
    data = ReportData(
        scope=Scope(scope_org, ORG_ROOT, Tree(ORG_ROOT, scope_org.subtree_parents(ORG_ROOT))),
        measures=ReportMeasures(outcome, CUSTOMER, predictors),
        constructs={},
        employee_constructs=frozenset({FAIR, SUP, ENPS}),
        items=[i for f in frozen for i in f.items],
        channels=[],
        measure_k={"employee:treatment.support": rng.choice([0, 4])},
    )
    request = ReportRequest(
        Viewer("viewer", ""), "", periods[0], periods[-1], tuple(predictors), outcome, 1,
        ("unit_size", "unit_type"), Options(99, 0, 0.95, "pearson", 1),
    )  # fmt: skip
    return data, frozen, rng.choice([2, 3, 5]), request


def _by_rows(data: ReportData, frozen: list[FrozenPeriod]) -> ReportData:
    """The same report data with its cells summed row by row (``construct_sums``) and its
    item rows as a plain list: the arrays are built from these instead."""
    rows = [r for f in frozen for r in f.rows]
    scoped = ScopedUnits(data.scope)
    wanted = data.item_constructs or frozenset()
    return replace(
        data,
        items=[
            item
            for f in frozen
            for construct, group in f.items_by_construct().items()
            if construct in wanted
            for item in group
        ],
        constructs=construct_sums(rows, data.scope),
        arrays=None,
        item_tables=None,
        row_tables=None,
        rows=[r for r in rows if scoped(r.unit_id)],
    )


def _unit_sums(data: ReportData, release: Release, construct: str, unit: str) -> Sums:
    """A released unit's sums over the range, member by member, period by period."""
    cells = construct_sums([r for r in data.rows if r.construct == construct], data.scope)
    total = Sums()
    for member in release.members[unit]:
        for period in data.periods:
            s = cells.get(construct, {}).get((member, period))
            if s is not None:
                total.add(s.n, s.total, s.squares)
    return total


def _same(a: object, b: object) -> bool:
    return repr(a).replace("nan", "NaN") == repr(b).replace("nan", "NaN")


@pytest.mark.parametrize("seed", range(60))
def test_arrays_give_the_sums_of_the_rows(seed: int) -> None:
    data, frozen, k, request = world(seed)
    fast = frozen_report_data(data, frozen, [])
    slow = _by_rows(fast, frozen)
    release = release_report(fast, frozen, k)
    assert _same(release, release_report(slow, frozen, k))
    table = build_unit_table(fast, release, request)
    assert _same(asdict(table), asdict(build_unit_table(slow, release, request)))
    for construct in [*request.predictors, request.outcome]:
        if construct == NPS:
            continue
        expected = [_unit_sums(slow, release, construct, u) for u in release.units]
        values = table.y if construct == request.outcome else table.x[construct]
        counts = table.n_y if construct == request.outcome else table.n_x[construct]
        assert counts == [s.n for s in expected]
        assert _same(values, [s.mean for s in expected])
    assert all(math.isfinite(row.y) for row in table.panel)
    alpha = linkage_reliability(fast, release, 0.95)
    assert _same(
        {c: asdict(r) for c, r in alpha.items()},
        {c: asdict(r) for c, r in linkage_reliability(slow, release, 0.95).items()},
    )
