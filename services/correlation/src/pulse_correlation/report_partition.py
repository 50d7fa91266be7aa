"""Analysis units of a linkage report that are unions of released atoms, pure.

Within one released period and construct, the *atoms* of the deterministic release are the
residuals of the units released to everyone (``confidentiality.atom_of``): each holds 0 or
at least k people, and every released total is a union of them. A report adds its own
totals (one per analysis unit, over the range); they can never single out fewer than k
people against the released numbers if each of them is itself a union of atoms, in every
period and construct. So:

1. Units of the report's scope that share an atom (same period, construct and atom) are
   joined into one group (union-find), with their lowest common ancestor (the unit shown;
   the others are ``rolled_up_into:<it>``). A unit whose people lie in no released group,
   or in an atom that also holds people outside the scope, is *blocked* (``below_k`` or
   ``differencing``): it can be shown in no group.
2. Roll-up, deepest group first: a group with fewer than k people on any required measure
   over the range joins the group of its top unit's parent (``rolled_up_into:<parent>``);
   at the scope's root it is ``below_k``. A group joined to a blocked one is blocked.

Joining unions of atoms gives unions of atoms, so every shown analysis unit is one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from pulse_correlation.confidentiality import BELOW_K, DIFFERENCING, ROLLED_UP, Partition, Tree
from pulse_correlation.org import OrgSnapshot
from pulse_correlation.releases import FrozenPeriod, PeriodDecision


class _Groups:
    """Union-find over units, keeping each group's members."""

    def __init__(self, units: Sequence[str]) -> None:
        self.up = {u: u for u in units}
        self.members = {u: [u] for u in units}

    def find(self, unit: str) -> str:
        while self.up[unit] != unit:
            self.up[unit] = self.up[self.up[unit]]
            unit = self.up[unit]
        return unit

    def join(self, a: str, b: str) -> str:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if len(self.members[ra]) < len(self.members[rb]):
            ra, rb = rb, ra
        self.up[rb] = ra
        self.members[ra] += self.members.pop(rb)
        return ra


def _common_ancestor(tree: Tree, units: Sequence[str], depth: Mapping[str, int]) -> str:
    found = min(units, key=lambda u: depth[u])
    for unit in units:
        a, b = found, unit
        while depth[a] > depth[b]:
            a = tree.parents[a]
        while depth[b] > depth[a]:
            b = tree.parents[b]
        while a != b:
            a, b = tree.parents[a], tree.parents[b]
        found = a
    return found


def _close_under_common_ancestors(tree: Tree, groups: _Groups, depth: Mapping[str, int]) -> None:
    """Join every group with its members' lowest common ancestor, so that each group's top
    unit (the one shown) is that ancestor. Coarser unions of atoms are unions of atoms."""
    changed = True
    while changed:
        changed = False
        for top in list(groups.members):
            members = groups.members.get(top)
            if members is None or len(members) < 2:
                continue
            common = _common_ancestor(tree, members, depth)
            if groups.find(common) != groups.find(top):
                groups.join(common, top)
                changed = True


def atom_partition(
    tree: Tree,
    scope_org: OrgSnapshot,
    periods: Sequence[tuple[FrozenPeriod, Mapping[str, PeriodDecision]]],
    own: Mapping[str, Mapping[str, int]],
    required: Mapping[str, str],
    k_of: Mapping[str, int],
) -> Partition:
    """``required`` maps each construct the report shows per unit to its measure; ``own``
    maps unit -> measure -> people over the range (the report's org)."""
    units = tree.units()
    in_scope = set(units)
    groups = _Groups(units)
    blocked: dict[str, str] = {}
    canonical: dict[str, str] = {}
    for _, decided in periods:
        for construct in required:
            decision = decided.get(construct)
            if decision is None:  # no row of the construct in the period
                continue
            holders: dict[str | None, list[str]] = defaultdict(list)
            crossing: set[str | None] = set()
            for unit_id, atom in decision.row_atoms:
                unit = canonical.get(unit_id)
                if unit is None:
                    unit = canonical[unit_id] = scope_org.canonical(unit_id)
                if unit in in_scope:
                    holders[atom].append(unit)
                else:
                    crossing.add(atom)
            for atom, found in holders.items():
                if atom is None or atom in crossing:
                    for unit in found:
                        blocked.setdefault(unit, BELOW_K if atom is None else DIFFERENCING)
                for unit in found[1:]:
                    groups.join(found[0], unit)
    depth = {tree.root: 0}
    for unit in reversed(tree.post_order()):
        if unit != tree.root:
            depth[unit] = depth[tree.parents[unit]] + 1
    _close_under_common_ancestors(tree, groups, depth)
    has_people = {u for u in units if any(v > 0 for v in own.get(u, {}).values())}
    partition = Partition()
    for unit in sorted(units, key=lambda u: (-depth[u], u)):
        top = groups.find(unit)
        members = groups.members[top]
        if min(members, key=lambda u: (depth[u], u)) != unit:
            continue  # decided when its top unit comes
        people = [m for m in members if m in has_people]
        if not people:
            continue
        reasons = [blocked[m] for m in members if m in blocked]
        if reasons:
            for member in people:
                partition.reasons.setdefault(member, min(reasons))
            continue
        totals = {m: sum(own.get(u, {}).get(m, 0) for u in members) for m in required.values()}
        if all(totals[m] >= k_of[m] for m in required.values()):
            partition.members[unit] = sorted(members)
            for member in people:
                if member != unit:
                    partition.reasons.setdefault(member, ROLLED_UP + unit)
        elif unit == tree.root:
            for member in people:
                partition.reasons[member] = BELOW_K
        else:
            parent = tree.parents[unit]
            for member in people:
                partition.reasons.setdefault(member, ROLLED_UP + parent)
            groups.join(unit, parent)
    return partition
