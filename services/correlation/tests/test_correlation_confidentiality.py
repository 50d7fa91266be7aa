"""Property tests of deterministic releases (issue 13) over random org trees, reorganisations
between periods, late arrivals, the passing of time and request sequences from several
viewers (scores, trends, dashboard pages, linkage reports), with the real release code
(``releases``, ``score_cells``, ``report_release``); freezing is played in memory exactly
as ``release_repository`` does it (first read on or after the release day).

The adversary pools every number shown to every viewer. Each shown number is a group of
respondents (a cell's n people per unit and period, known to the test). Whatever can be
obtained by adding and subtracting shown totals is a union of *atoms* (people in exactly
the same shown groups), so an atom of 1..k-1 people is a leak."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st
from pulse_common.measures import CUSTOMER, EMPLOYEE
from pulse_correlation.access import Scope
from pulse_correlation.aggregates import ConstructRow, measure_key
from pulse_correlation.confidentiality import (
    BELOW_K,
    COMPLEMENTARY,
    PERIOD_OPEN,
    ROLLED_UP,
    Tree,
    atom_of,
    release_hierarchy,
)
from pulse_correlation.org import ORG_ROOT, OrgSnapshot, UnitInfo
from pulse_correlation.releases import FrozenPeriod, ReleaseRule
from pulse_correlation.report_data import ReportData, ReportMeasures, construct_sums
from pulse_correlation.report_release import release_report
from pulse_correlation.score_cells import Cell, release_cells

PERIODS = ("2026-01", "2026-02", "2026-03")
FAIR, CSAT = "treatment.fairness", "csat"
POPULATION = {FAIR: EMPLOYEE, CSAT: CUSTOMER}
Person = tuple[str, str, str, int]  # (construct, unit, period, i-th respondent of the cell)

RULE = ReleaseRule()  # periods without waves: released after the grace days


def org_of(parents: dict[str, str]) -> OrgSnapshot:
    return OrgSnapshot({u: UnitInfo(u, p, u, "") for u, p in parents.items()}, {})


def score(unit: str, period: str, construct: str, i: int) -> float:
    """Each respondent's score, fixed (0-100)."""
    return float(random.Random(f"{unit}/{period}/{construct}/{i}").randint(0, 100))


@dataclass
class World:
    """The live aggregates, the frozen releases and the clock of one run."""

    k: int
    parents: dict[str, dict[str, str]]  # period -> unit -> parent (reorganisations)
    live: dict[tuple[str, str, str], int]  # (construct, unit, period) -> respondents
    today: dt.date = dt.date(2026, 1, 20)
    frozen: dict[str, FrozenPeriod] = field(default_factory=dict)
    frozen_n: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def rows(self, period: str, counts: dict[tuple[str, str, str], int]) -> list[ConstructRow]:
        found = []
        for (construct, unit, p), n in sorted(counts.items()):
            if p == period and n > 0:
                values = [score(unit, p, construct, i) for i in range(n)]
                found.append(
                    ConstructRow(
                        unit,
                        p,
                        construct,
                        POPULATION[construct],
                        n,
                        sum(values),
                        sum(v * v for v in values),
                    )
                )
        return found

    def freeze_for(self, periods: list[str]) -> None:
        """``release_repository.freeze_ended``: released periods with data, once."""
        for period in periods:
            has_data = any(n > 0 and p == period for (_, _, p), n in self.live.items())
            if period in self.frozen or not has_data or not RULE.released(period, [], self.today):
                continue
            self.frozen[period] = FrozenPeriod(
                period, org_of(self.parents[period]), self.rows(period, self.live), []
            )
            for key, n in self.live.items():
                if key[2] == period:
                    self.frozen_n[key] = n

    def scope(self, root: str, period_to: str) -> Scope:
        org = org_of(self.parents[period_to])
        return Scope(org, root, Tree(root, org.subtree_parents(root)))

    def cells(self, kind: str, root: str, periods: list[str]) -> list[Cell]:
        self.freeze_for(periods)
        scope = self.scope(root, periods[-1])
        only: set[str] | None = None
        if kind == "trend":
            only = {root}
        elif kind == "dashboard":
            only = {root, *scope.tree.children()[root]}
        frozen = [self.frozen[p] for p in periods if p in self.frozen]
        open_rows = [r for p in periods if p not in self.frozen for r in self.rows(p, self.live)]
        cells, _ = release_cells(frozen, open_rows, scope, self.k, (), only)
        return cells

    def report(self, root: str, periods: list[str]) -> dict[str, list[str]]:
        self.freeze_for(periods)
        scope = self.scope(root, periods[-1])
        frozen = [self.frozen[p] for p in periods if p in self.frozen]
        rows = [r for f in frozen for r in f.rows]
        data = ReportData(
            scope=scope,
            measures=ReportMeasures(CSAT, CUSTOMER, [FAIR]),
            constructs=construct_sums(rows, scope),
            employee_constructs=frozenset({FAIR}),
            items=[],
            channels=[],
            measure_k={},
        )
        return release_report(data, frozen, self.k).members

    def subtree(self, unit: str, period: str) -> set[str]:
        org = org_of(self.parents[period])
        return {unit, *org.subtree_parents(unit)}

    def people(self, construct: str, units: set[str], period: str) -> frozenset[Person]:
        return frozenset(
            (construct, u, period, i)
            for u in units
            for i in range(self.frozen_n.get((construct, u, period), 0))
        )


@st.composite
def worlds(draw: st.DrawFn) -> tuple[World, list[tuple[str, ...]], list[str]]:
    n_units = draw(st.integers(2, 8))
    units = [f"u{i}" for i in range(n_units)]
    parents: dict[str, dict[str, str]] = {}
    base: dict[str, str] | None = None
    for period in PERIODS:
        if base is None or draw(st.booleans()):  # a reorganisation
            base = {u: draw(st.sampled_from([ORG_ROOT, *units[:i]])) for i, u in enumerate(units)}
        parents[period] = dict(base)
    k = draw(st.sampled_from([3, 5]))
    live = {
        (c, u, p): draw(st.integers(0, 9) | st.just(0))
        for c in (FAIR, CSAT)
        for u in units
        for p in PERIODS
    }
    world = World(k, parents, live)
    viewers = [f"viewer{i}" for i in range(draw(st.integers(2, 3)))]
    op = st.one_of(
        st.tuples(st.just("late"), st.sampled_from(units), st.sampled_from(PERIODS)),
        st.tuples(st.just("day"), st.sampled_from(PERIODS), st.just("")),
        st.tuples(
            st.sampled_from(["scores", "trend", "dashboard", "report"]),
            st.sampled_from([ORG_ROOT, *units]),
            st.sampled_from(["2026-01:2026-01", "2026-01:2026-03", "2026-02:2026-03"]),
            st.sampled_from(viewers),
        ),
    )
    ops: list[tuple[str, ...]] = draw(st.lists(op, min_size=3, max_size=14))
    return world, ops, viewers


def small_atoms(groups: list[frozenset[Person]], k: int) -> list[int]:
    signature: dict[Person, frozenset[int]] = defaultdict(frozenset)
    for index, group in enumerate(groups):
        for person in group:
            signature[person] = signature[person] | {index}
    return [size for size in Counter(signature.values()).values() if 0 < size < k]


def cell_key(cell: Cell) -> tuple[object, ...]:
    return (cell.unit_id, cell.period, cell.construct, cell.n, cell.value, cell.suppressed)


@settings(max_examples=100, deadline=None)
@given(worlds())
def test_no_pooled_release_isolates_fewer_than_k_and_answers_do_not_depend_on_history(
    case: tuple[World, list[tuple[str, ...]], list[str]],
) -> None:
    world, ops, _ = case
    shown: list[frozenset[Person]] = []
    first_answer: dict[tuple[str, ...], tuple[frozenset[str], object]] = {}
    for op in ops:
        if op[0] == "late":  # one more respondent in every construct of a cell
            for construct in (FAIR, CSAT):
                world.live[(construct, op[1], op[2])] += 1
            continue
        if op[0] == "day":
            world.today = max(world.today, RULE.release_day(op[1], []))
            continue
        kind, root, span, _viewer = op
        period_from, period_to = span.split(":")
        periods = [p for p in PERIODS if period_from <= p <= period_to]
        if root != ORG_ROOT and root not in world.parents[period_to]:
            continue
        if kind == "report":
            members = world.report(root, periods)
            for units in members.values():
                for construct in (FAIR, CSAT):
                    group = frozenset().union(
                        *(world.people(construct, set(units), p) for p in periods)
                    )
                    if group:
                        assert len(group) >= world.k
                        shown.append(group)
            answer: object = sorted((u, tuple(m)) for u, m in members.items())
        else:
            cells = world.cells(kind, root, periods)
            for cell in cells:
                if cell.suppressed:
                    assert cell.n == 0
                    continue
                assert cell.period in world.frozen
                group = world.people(
                    cell.construct, world.subtree(cell.unit_id, cell.period), cell.period
                )
                # Released numbers are the frozen ones: late arrivals never count.
                assert cell.n == len(group) >= world.k
                shown.append(group)
            # Cells of periods not released yet list whatever arrived, all suppressed.
            answer = sorted(cell_key(c) for c in cells if c.period in world.frozen)
        frozen_now = frozenset(p for p in periods if p in world.frozen)
        request = (kind, root, span)  # any viewer: the answer may not depend on who asks
        if request in first_answer and first_answer[request][0] == frozen_now:
            assert first_answer[request][1] == answer, request
        first_answer.setdefault(request, (frozen_now, answer))
    # Pooled over every viewer and request: no atom of 1..k-1 people, per construct.
    for construct in (FAIR, CSAT):
        groups = [g for g in shown if next(iter(g))[0] == construct]
        assert small_atoms(groups, world.k) == []


def test_same_request_same_answer_for_parent_and_child_leaders() -> None:
    """The issue's attack in miniature: A (7) = T1 (6) + T2 (1). The child's leader and the
    parent's leader are shown the same released groups; T1 alone is never shown."""
    parents = {"A": ORG_ROOT, "T1": "A", "T2": "A"}
    live = {(FAIR, "T1", p): 6 for p in PERIODS} | {(FAIR, "T2", p): 1 for p in PERIODS}
    world = World(5, dict.fromkeys(PERIODS, parents), live, today=dt.date(2026, 2, 15))
    child = world.cells("scores", "T1", ["2026-01"])
    parent = world.cells("scores", "A", ["2026-01"])
    assert [(c.unit_id, c.suppressed, c.suppression_reason) for c in child] == [
        ("T1", True, COMPLEMENTARY)
    ]
    by_unit = {c.unit_id: c for c in parent}
    assert by_unit["A"].n == 7
    assert not by_unit["A"].suppressed
    assert by_unit["T1"].suppression_reason == COMPLEMENTARY
    assert by_unit["T2"].suppression_reason == ROLLED_UP + "A"
    # February has not been released yet (release day 2026-03-08): nothing of it is shown.
    february = world.cells("scores", "A", ["2026-02"])
    assert {c.suppression_reason for c in february} == {PERIOD_OPEN}
    # A late arrival after the release changes nothing that was shown.
    world.live[(FAIR, "T2", "2026-01")] += 5
    assert world.cells("scores", "A", ["2026-01"]) == parent


def test_small_unit_rolls_up_and_the_smallest_sibling_hides_the_complement() -> None:
    # R (own 2) with children A (8 + C's 2) and B (6): R - A - B = 2 -> hide B, the smaller.
    tree = Tree(ORG_ROOT, {"R": ORG_ROOT, "A": "R", "B": "R", "C": "A"})
    own = {"R": {"R@p": 2}, "A": {"A@p": 8}, "B": {"B@p": 6}, "C": {"C@p": 2}}
    decision = release_hierarchy(tree, own, "m", 5, releasable_root=False)
    assert decision.reasons == {"C": ROLLED_UP + "A", "B": COMPLEMENTARY}
    assert {u: g.n for u, g in decision.released.items()} == {"R": 18, "A": 10}
    # Atoms: A's residual holds A and C; R's holds R and B.
    atoms = atom_of(tree, decision)
    assert (atoms["C"], atoms["A"], atoms["B"], atoms["R"]) == ("A", "A", "R", "R")
    # A top unit below k is below_k, never rolled into the virtual root.
    lone = release_hierarchy(tree, {"B": {"B@p": 3}}, "m", 5, releasable_root=False)
    assert lone.reasons == {"B": ROLLED_UP + "R", "R": BELOW_K}


def test_reports_join_units_that_share_an_atom() -> None:
    """T1 is hidden for everyone (A - T1 would isolate T2), so a report cannot show T1 on
    its own either: T1 and T2 are one analysis unit, shown as A."""
    parents = {"A": ORG_ROOT, "T1": "A", "T2": "A"}
    live = {(c, "T1", p): 6 for c in (FAIR, CSAT) for p in PERIODS}
    live |= {(c, "T2", p): 2 for c in (FAIR, CSAT) for p in PERIODS}
    world = World(5, dict.fromkeys(PERIODS, parents), live, today=dt.date(2026, 6, 1))
    assert world.report("A", list(PERIODS)) == {"A": ["A", "T1", "T2"]}
    # Scoped to T1 (whose people share A's atom with T2): nothing can be shown.
    assert world.report("T1", list(PERIODS)) == {}
    assert measure_key(EMPLOYEE, FAIR) == "employee:treatment.fairness"
