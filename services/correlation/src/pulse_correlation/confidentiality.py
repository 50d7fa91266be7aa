"""Confidentiality engine (DESIGN §3), pure: which groups are released, to everyone alike.

Vocabulary. A **cell** is one (unit, period); a **measure** is what is summed, e.g.
``employee:treatment.fairness`` or ``customer:nps``. A **group** is a set of cells of one
measure with the number of respondents in each cell; its released numbers (n, mean,
interval, category counts) are sums over those respondents.

Releases are **deterministic** (issue 13): for one period and measure the decision is a
function of the org tree as of the period's end and the counts frozen when the period was
released (``releases``), over the **whole** tree, never of the viewer, the scope asked for
or what was asked before. Every viewer sees a subset of the same released groups. Rules:

1. **Roll-up** (``release_hierarchy``; report units: ``report_partition``): a unit with fewer than k
   respondents is not shown on its own; its people count in its parent's number
   (``rolled_up_into:<parent>``); a top unit below k is ``below_k``.
2. **Complementary suppression** (``release_hierarchy``): for every released unit, its
   total minus the totals of the nearest released units below it (its *residual*) must be
   0 or at least k; otherwise the smallest released descendant that hides people is
   suppressed (``complementary``), or the unit itself when none can help. Iterated to a
   fixed point, deepest units first, so large division and company numbers stay shown.

Why this is enough within one period and measure: the released subtrees form a laminar
family, so the *atoms* (respondents covered by exactly the same released groups) are the
residuals of the released units (``atom_of``) plus the people in no released group. Any
total obtained by adding and subtracting released totals is a union of atoms, each 0 or at
least k. Periods are disjoint cells, so releases of different periods never combine into
less. Report analysis units are released only when they are unions of these atoms
(``report_release``).

**k per measure.** Each survey version fixes the k its respondents were promised. A measure
uses ``effective_k`` = max(deployment k, the largest k of any survey version that fed it),
frozen per period at release.

What it does not guarantee: (a) anything across measures (two constructs answered by
different subsets of a team are decided separately); (b) inference that is not linear in
the released sums (e.g. from correlations across units); (c) "respondents" are responses:
a person answering in two periods counts twice; (d) k-anonymity against someone who knows
all but one member's answers (no additive rule can give that).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

ROLLED_UP = "rolled_up_into:"
BELOW_K = "below_k"
COMPLEMENTARY = "complementary"
DIFFERENCING = "differencing"  # a report unit that would cut an atom (``report_release``)
PERIOD_OPEN = "period_open"  # not released yet (``releases.ReleaseRule``)


def cell_id(unit_id: str, period: str) -> str:
    return f"{unit_id}@{period}"


@dataclass(frozen=True)
class Group:
    """A releasable group: ``counts[cell]`` respondents in each cell (cells with 0 omitted)."""

    measure: str
    counts: Mapping[str, int] = field(hash=False)

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    @property
    def cells(self) -> list[str]:
        return sorted(self.counts)


def effective_k(base_k: int, measure_k: Mapping[str, int], measure: str) -> int:
    """The k a measure is released under: the deployment's, or a larger one promised by a
    survey version that fed the measure."""
    return max(base_k, measure_k.get(measure, 0))


def make_group(measure: str, counts: Mapping[str, int]) -> Group:
    return Group(measure, {c: int(v) for c, v in counts.items() if v > 0})


# ---------------------------------------------------------------- hierarchy (subtree numbers)


@dataclass(frozen=True)
class Tree:
    """A subtree: ``parents`` maps every unit below ``root`` to its parent."""

    root: str
    parents: Mapping[str, str]

    def units(self) -> list[str]:
        return [self.root, *sorted(self.parents)]

    def children(self) -> dict[str, list[str]]:
        kids: dict[str, list[str]] = {u: [] for u in self.units()}
        for unit, parent in self.parents.items():
            kids[parent].append(unit)
        for values in kids.values():
            values.sort()
        return kids

    def post_order(self) -> list[str]:
        kids = self.children()
        order: list[str] = []
        stack: list[tuple[str, bool]] = [(self.root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(kids[node]))
        return order


@dataclass
class Decision:
    """Per unit: released, or the reason it is not."""

    released: dict[str, Group] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)


def release_hierarchy(
    tree: Tree,
    own: Mapping[str, Mapping[str, int]],
    measure: str,
    k: int,
    *,
    releasable_root: bool = True,
) -> Decision:
    """Subtree numbers: each released unit's group is every cell of its subtree.

    ``own[unit]`` maps cell -> respondents attributed directly to the unit. Units without
    respondents get no decision. Deterministic: the same tree and counts give the same
    decision (ties broken by unit id).
    """
    kids = tree.children()
    order = tree.post_order()
    subtree_counts: dict[str, dict[str, int]] = {}
    for unit in order:
        counts = {c: v for c, v in own.get(unit, {}).items() if v > 0}
        for child in kids[unit]:
            for cell, value in subtree_counts[child].items():
                counts[cell] = counts.get(cell, 0) + value
        subtree_counts[unit] = counts
    size = {u: sum(subtree_counts[u].values()) for u in order}
    reasons: dict[str, str] = {}
    candidates: set[str] = set()
    for unit in order:
        if size[unit] == 0:
            continue
        if unit == tree.root and not releasable_root:
            continue
        if size[unit] >= k:
            candidates.add(unit)
        elif unit == tree.root or (tree.parents[unit] == tree.root and not releasable_root):
            reasons[unit] = BELOW_K
        else:
            reasons[unit] = ROLLED_UP + tree.parents[unit]

    # The nearest candidates below each unit, kept up to date as candidates are dropped
    # (one bottom-up pass; ``order`` lists children before parents).
    frontier: dict[str, list[str]] = {}
    for unit in order:
        nearest: list[str] = []
        for child in kids[unit]:
            if child in candidates:
                nearest.append(child)
            else:
                nearest.extend(frontier[child])
        frontier[unit] = nearest

    def drop(victim: str) -> None:
        """Remove a candidate: the units above it, up to the nearest candidate, now see
        the candidates below it instead."""
        candidates.discard(victim)
        node = victim
        while node != tree.root:
            parent = tree.parents[node]
            if victim in frontier[parent]:
                frontier[parent] = [v for v in frontier[parent] if v != victim]
                frontier[parent] += frontier[victim]
            if parent in candidates:
                break
            node = parent

    def residual(unit: str) -> int:
        return size[unit] - sum(size[v] for v in frontier[unit])

    depth = {tree.root: 0}
    for unit in reversed(order):
        if unit != tree.root:
            depth[unit] = depth[tree.parents[unit]] + 1
    # Deepest first. A drop changes only the residuals of the units above it (later in this
    # order, or the unit checked), so re-checking the current unit equals restarting.
    ordered = sorted(candidates, key=lambda u: (-depth[u], u))
    position = 0
    while position < len(ordered):
        unit = ordered[position]
        rest = residual(unit) if unit in candidates else 0
        if 0 < rest < k:
            helpers = [v for v in frontier[unit] if residual(v) > 0]
            victim = min(helpers, key=lambda v: (size[v], v)) if helpers else unit
            drop(victim)
            reasons[victim] = COMPLEMENTARY
            continue
        position += 1
    decision = Decision(reasons=reasons)
    for unit in sorted(candidates):
        decision.released[unit] = make_group(measure, subtree_counts[unit])
    return decision


def atom_of(tree: Tree, decision: Decision) -> dict[str, str | None]:
    """Per unit of ``tree``: the nearest released unit at or above it (whose residual, an
    atom of the released family, holds the unit's people), or None when no released group
    holds them."""
    found: dict[str, str | None] = {}
    for unit in reversed(tree.post_order()):  # parents before children
        if unit in decision.released:
            found[unit] = unit
        elif unit == tree.root:
            found[unit] = None
        else:
            found[unit] = found[tree.parents[unit]]
    return found


# ---------------------------------------------------------------- partition (report units)


@dataclass
class Partition:
    """Disjoint analysis units: ``members[root]`` are the units whose people it holds."""

    members: dict[str, list[str]] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
