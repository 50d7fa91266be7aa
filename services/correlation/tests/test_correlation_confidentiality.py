"""Property tests of the confidentiality engine over random org trees, group sizes, late
arrivals and sequences of releases (subtree scores and report partitions) to one viewer."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from pulse_correlation.confidentiality import (
    BELOW_K,
    COMPLEMENTARY,
    ROLLED_UP,
    Group,
    Ledger,
    Tree,
    cell_id,
    make_group,
    partition_units,
    release_hierarchy,
)
from pulse_correlation.org import ORG_ROOT

PERIODS = ("2026-01", "2026-02")
MEASURE = "employee:engagement"


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, object]:
    n_units = draw(st.integers(1, 9))
    parents: dict[str, str] = {}
    for i in range(n_units):
        choices = [ORG_ROOT] + [f"u{j}" for j in range(i)]
        parents[f"u{i}"] = draw(st.sampled_from(choices))
    k = draw(st.sampled_from([3, 5]))
    first = {(u, p): draw(st.integers(0, 12)) for u in parents for p in PERIODS}
    late = {cell: draw(st.integers(0, 4)) for cell in first}
    scopes = [ORG_ROOT, *parents]
    ops = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["hier", "part"]),
                st.sampled_from(scopes),
                st.sampled_from(PERIODS),
            ),
            min_size=1,
            max_size=7,
        )
    )
    switch = draw(st.integers(0, len(ops)))
    return {"parents": parents, "k": k, "first": first, "late": late, "ops": ops, "switch": switch}


def subtree_parents(parents: dict[str, str], root: str) -> dict[str, str]:
    found: dict[str, str] = {}
    frontier = [root]
    while frontier:
        node = frontier.pop()
        for unit, parent in parents.items():
            if parent == node and unit not in found:
                found[unit] = parent
                frontier.append(unit)
    return found


def people(group: Group) -> frozenset[tuple[str, int]]:
    """Respondents arrive in order, so a count c of a cell means its first c respondents."""
    return frozenset((cell, i) for cell, count in group.counts.items() for i in range(count))


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_no_released_group_below_k_and_no_small_differences(scenario: dict[str, object]) -> None:
    parents: dict[str, str] = scenario["parents"]  # type: ignore[assignment]
    k: int = scenario["k"]  # type: ignore[assignment]
    first: dict[tuple[str, str], int] = scenario["first"]  # type: ignore[assignment]
    late: dict[tuple[str, str], int] = scenario["late"]  # type: ignore[assignment]
    ops: list[tuple[str, str, str]] = scenario["ops"]  # type: ignore[assignment]
    switch: int = scenario["switch"]  # type: ignore[assignment]
    ledger = Ledger(k)
    for step, (kind, scope, period) in enumerate(ops):
        counts = first if step < switch else {c: first[c] + late[c] for c in first}
        tree = Tree(scope, subtree_parents(parents, scope))
        if kind == "hier":
            own = {u: {cell_id(u, period): counts[(u, period)]} for u in parents}
            decision = release_hierarchy(
                tree, own, MEASURE, k, ledger, releasable_root=scope != ORG_ROOT
            )
            for group in decision.released.values():
                assert group.n >= k
            for unit, reason in decision.reasons.items():
                assert reason in (BELOW_K, COMPLEMENTARY, "differencing") or reason.startswith(
                    ROLLED_UP
                )
                assert unit not in decision.released
        else:
            own_n = {u: {MEASURE: sum(counts[(u, p)] for p in PERIODS)} for u in parents}
            partition = partition_units(tree, own_n, [MEASURE], k)
            for members in partition.members.values():
                group = make_group(
                    MEASURE,
                    {
                        cell_id(u, p): counts[(u, p)]
                        for u in members
                        if u in parents
                        for p in PERIODS
                    },
                )
                if group.n:
                    ledger.release(group)
    released = ledger.released
    memberships = [people(g) for g in released]
    # 1. No released number for a group under k.
    assert all(len(m) >= k for m in memberships)
    # 2. No two released groups, nested, differ by 1..k-1 people.
    for a, b in itertools.combinations(memberships, 2):
        if a <= b or b <= a:
            assert len(a ^ b) == 0 or len(a ^ b) >= k
    # 3. Stronger: every atom (people in exactly the same released groups) has 0 or >= k
    # people, so no sum/difference of released totals isolates fewer than k people.
    signature: dict[tuple[str, int], frozenset[int]] = {}
    for index, membership in enumerate(memberships):
        for person in membership:
            signature[person] = signature.get(person, frozenset()) | {index}
    atoms: dict[frozenset[int], int] = {}
    for sig in signature.values():
        atoms[sig] = atoms.get(sig, 0) + 1
    assert all(size >= k for size in atoms.values())


def test_small_unit_rolls_up_and_complement_is_suppressed() -> None:
    # root R (own 2) with children A (10) and B (6): R - A - B = 2 people -> suppress B.
    tree = Tree("R", {"A": "R", "B": "R", "C": "A"})
    own = {"R": {"R@p": 2}, "A": {"A@p": 8}, "B": {"B@p": 6}, "C": {"C@p": 2}}
    decision = release_hierarchy(tree, own, MEASURE, 5, Ledger(5))
    assert decision.reasons["C"] == "rolled_up_into:A"
    assert decision.reasons["B"] == COMPLEMENTARY
    assert set(decision.released) == {"R", "A"}
    assert decision.released["R"].n == 18
    assert decision.released["A"].n == 10


def test_ledger_refuses_a_later_release_that_differences_a_small_group() -> None:
    ledger = Ledger(5)
    assert ledger.release(make_group(MEASURE, {"a@p": 10, "b@p": 2}))
    # Alone, {a} is big enough; together with the first release it isolates b's 2 people.
    assert not ledger.release(make_group(MEASURE, {"a@p": 10}))
    # The same group with 3 late arrivals in a: the 3 would be isolated.
    assert not ledger.release(make_group(MEASURE, {"a@p": 13, "b@p": 2}))
    # ... but 5 late arrivals are a group of k.
    assert ledger.release(make_group(MEASURE, {"a@p": 15, "b@p": 2}))
    # Another measure is ledgered separately; a repeat of a released group is fine.
    assert ledger.release(make_group("customer:csat", {"a@p": 10}))
    assert ledger.release(make_group(MEASURE, {"a@p": 10, "b@p": 2}))


def test_partition_rolls_small_units_into_parents() -> None:
    tree = Tree("R", {"A": "R", "B": "R", "C": "A"})
    own = {
        "R": {"e": 1, "c": 9},
        "A": {"e": 6, "c": 6},
        "B": {"e": 9, "c": 2},
        "C": {"e": 3, "c": 7},
    }
    partition = partition_units(tree, own, ["e", "c"], 5)
    assert partition.members == {"A": ["A", "C"], "R": ["B", "R"]}
    assert partition.reasons == {"C": "rolled_up_into:A", "B": "rolled_up_into:R"}
