"""Confidentiality engine (DESIGN §3), pure: which groups may be released to a viewer.

Vocabulary. A **cell** is one (unit, period); a **measure** is what is summed, e.g.
``employee:treatment.fairness`` or ``customer:nps``. A **group** is a set of cells of one
measure with the number of respondents in each cell at release time; its released numbers
(n, mean, interval, category counts) are sums over those respondents.

Three rules produce the decisions:

1. **Roll-up** (``release_hierarchy``, ``release_partition``): a unit with fewer than k
   respondents is not shown on its own; its people count in its parent's number
   (``rolled_up_into:<parent>``); a root below k is ``below_k``.
2. **Complementary suppression** (``release_hierarchy``, where a unit's number covers its
   whole subtree): for every released unit, its total minus the totals of the nearest released
   units below it must be 0 or at least k; otherwise the smallest such released descendant
   (that actually hides people) is suppressed as ``complementary``, or the unit itself when
   none can help. Iterated to a fixed point.
3. **Differencing ledger** (``Ledger``), per viewer and measure, across every report, filter,
   scope and period ever released to that viewer. Each cell's respondents are split into
   *elements* by the counts recorded at each release (respondents only ever arrive, so a
   release with count c of a cell covers that cell's first c respondents). The *atoms* are the
   classes of elements contained in exactly the same released groups. A new group is released
   only if, after adding it, every atom holds 0 or at least k respondents; otherwise it is
   suppressed as ``differencing``.

**k per measure.** Each survey version fixes the k its respondents were promised. A measure
uses ``effective_k`` = max(deployment k, the largest k of any survey version that ever fed
it). It is one k per measure, not per cell, because the ledger's atoms span cells and
periods: a cell-level k would let a release governed by a smaller k carve a small remainder
out of an atom holding respondents promised a larger one. Since the per-measure k only grows
and respondents only arrive, every atom holding a respondent was checked under at least that
respondent's k.

What this guarantees, per viewer and measure: every released group has at least k
respondents, and any set of respondents whose total can be obtained by adding and subtracting
released totals (n, sums, sums of squares, category counts: all additive) is a union of atoms,
hence empty or of at least k respondents. In particular no two released groups, nested or
re-released after late arrivals, differ by 1..k-1 respondents, and a parent minus its shown
children never isolates fewer than k.

What it does not guarantee: (a) protection against several viewers pooling what each was
shown (the ledger is per viewer); (b) anything across measures (two constructs answered by
different subsets of a team are ledgered separately); (c) inference that is not linear in the
released sums (e.g. from correlations across units, which are not ledgered; only unit points
and totals are); (d) "respondents" are responses: a person answering in two periods counts
twice; (e) k-anonymity against someone who knows all but one member's answers (no additive
rule can give that).
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

ROLLED_UP = "rolled_up_into:"
BELOW_K = "below_k"
COMPLEMENTARY = "complementary"
DIFFERENCING = "differencing"


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

    @property
    def member_hash(self) -> str:
        text = self.measure + "\n" + "\n".join(self.cells)
        return hashlib.sha256(text.encode()).hexdigest()


def effective_k(base_k: int, measure_k: Mapping[str, int], measure: str) -> int:
    """The k a measure is released under: the deployment's, or a larger one promised by a
    survey version that fed the measure."""
    return max(base_k, measure_k.get(measure, 0))


def make_group(measure: str, counts: Mapping[str, int]) -> Group:
    return Group(measure, {c: int(v) for c, v in counts.items() if v > 0})


class Ledger:
    """Released groups of one viewer (all measures) and their atoms; see the module doc.
    ``measure_k`` raises k for measures fed by surveys that promised more (``effective_k``)."""

    def __init__(
        self, k: int, released: Iterable[Group] = (), measure_k: Mapping[str, int] | None = None
    ) -> None:
        self.k = k
        self.measure_k = dict(measure_k or {})
        self._bounds: dict[tuple[str, str], list[int]] = {}  # (measure, cell) -> breakpoints
        self._atom: dict[tuple[str, str, int], int] = {}  # element -> atom id
        self._size: dict[int, int] = {}
        self._next_atom = 1
        self.released: list[Group] = []
        self._groups: set[tuple[str, frozenset[tuple[str, int]]]] = set()
        for group in released:
            self._apply(group)

    def k_for(self, measure: str) -> int:
        return effective_k(self.k, self.measure_k, measure)

    def record(self, group: Group) -> None:
        """Add a group released earlier (the stored ledger, replayed)."""
        self._apply(group)

    def _plan(self, group: Group) -> tuple[list[tuple[str, int, int, int | None]], bool]:
        """Elements of ``group`` as (cell, upper bound, size, atom or None), and whether
        adding it keeps every atom at 0 or >= k."""
        elements: list[tuple[str, int, int, int | None]] = []
        inside: dict[int | None, int] = {}
        for cell, count in group.counts.items():
            bounds = self._bounds.get((group.measure, cell), [])
            lower = 0
            for bound in bounds:
                if bound > count:
                    break
                atom = self._atom[(group.measure, cell, bound)]
                elements.append((cell, bound, bound - lower, atom))
                inside[atom] = inside.get(atom, 0) + bound - lower
                lower = bound
            if lower < count:
                pos = bisect.bisect_right(bounds, count)
                atom_above = (
                    self._atom[(group.measure, cell, bounds[pos])] if pos < len(bounds) else None
                )
                elements.append((cell, count, count - lower, atom_above))
                inside[atom_above] = inside.get(atom_above, 0) + count - lower
        k = self.k_for(group.measure)
        ok = True
        for touched, size_in in inside.items():
            outside = 0 if touched is None else self._size[touched] - size_in
            if 0 < size_in < k or 0 < outside < k:
                ok = False
        return elements, ok

    def allows(self, group: Group) -> bool:
        if group.n < self.k_for(group.measure):
            return False
        return self._plan(group)[1]

    def release(self, group: Group) -> bool:
        """Record ``group`` if it is safe; False (and nothing recorded) otherwise. A group
        already recorded is safe again and changes nothing (its atoms lie inside it)."""
        if self._known(group):
            return True
        if not self.allows(group):
            return False
        self._apply(group)
        return True

    def _known(self, group: Group) -> bool:
        return (group.measure, frozenset(group.counts.items())) in self._groups

    def _apply(self, group: Group) -> None:
        elements, _ = self._plan(group)
        # New breakpoints split an element into two pieces of the same atom.
        for cell, bound, _size, _atom in elements:
            bounds = self._bounds.setdefault((group.measure, cell), [])
            pos = bisect.bisect_left(bounds, bound)
            if pos == len(bounds) or bounds[pos] != bound:
                above = bounds[pos] if pos < len(bounds) else None
                bounds.insert(pos, bound)
                if above is not None:
                    self._atom[(group.measure, cell, bound)] = self._atom[
                        (group.measure, cell, above)
                    ]
        # Split every touched atom into its part inside the group and the rest.
        renamed: dict[int | None, int] = {}
        for cell, bound, size, atom in elements:
            known = renamed.get(atom)
            if known is not None:
                new_atom = known
            else:
                new_atom = self._next_atom
                self._next_atom += 1
                renamed[atom] = new_atom
                self._size[new_atom] = 0
            self._atom[(group.measure, cell, bound)] = new_atom
            self._size[new_atom] += size
            if atom is not None:
                self._size[atom] -= size
                if self._size[atom] == 0:
                    del self._size[atom]
        self._groups.add((group.measure, frozenset(group.counts.items())))
        self.released.append(group)


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
    ledger: Ledger,
    *,
    releasable_root: bool = True,
    release_only: Collection[str] | None = None,
) -> Decision:
    """Subtree numbers: each released unit's group is every cell of its subtree.

    ``own[unit]`` maps cell -> respondents attributed directly to the unit. Units without
    respondents get no decision. The ledger is updated with every released group; with
    ``release_only`` the other units are decided (they shape complementary suppression) but
    neither released nor ledgered.
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
    # Largest (outermost) groups first: the ledger then refuses the smaller, more revealing.
    for unit in sorted(candidates, key=lambda u: (depth[u], u)):
        if release_only is not None and unit not in release_only:
            continue
        group = make_group(measure, subtree_counts[unit])
        if ledger.release(group):
            decision.released[unit] = group
        else:
            reasons[unit] = DIFFERENCING
    return decision


# ---------------------------------------------------------------- partition (report units)


@dataclass
class Partition:
    """Disjoint analysis units: ``members[root]`` are the units whose people it holds."""

    members: dict[str, list[str]] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)


def partition_units(
    tree: Tree,
    own: Mapping[str, Mapping[str, int]],
    required: Sequence[str],
    k: int | Mapping[str, int],
) -> Partition:
    """Roll-up into disjoint groups for unit-level analysis: bottom-up, a unit whose own
    respondents plus those rolled into it number fewer than k on any ``required`` measure
    (``own[unit][measure]``; ``k`` may be given per measure) joins its parent; the root then
    stands or is ``below_k``. Units with no respondents at all are silently absorbed."""
    need = {m: k if isinstance(k, int) else k[m] for m in required}
    kids = tree.children()
    totals: dict[str, dict[str, int]] = {}
    members: dict[str, list[str]] = {}
    partition = Partition()
    has_people: dict[str, bool] = {}
    for unit in tree.post_order():
        counts = {m: int(own.get(unit, {}).get(m, 0)) for m in required}
        group_members = [unit]
        people = any(v > 0 for v in own.get(unit, {}).values())
        for child in kids[unit]:
            if child in partition.members:
                continue
            for m in required:
                counts[m] += totals[child][m]
            group_members.extend(members[child])
            people = people or has_people[child]
        totals[unit], members[unit], has_people[unit] = counts, group_members, people
        big_enough = all(counts[m] >= need[m] for m in required)
        if big_enough:
            partition.members[unit] = sorted(group_members)
        elif unit != tree.root:
            parent = tree.parents[unit]
            for member in group_members:
                if any(v > 0 for v in own.get(member, {}).values()):
                    partition.reasons.setdefault(member, ROLLED_UP + parent)
        elif people:
            for member in group_members:
                if any(v > 0 for v in own.get(member, {}).values()):
                    partition.reasons[member] = BELOW_K
    return partition
