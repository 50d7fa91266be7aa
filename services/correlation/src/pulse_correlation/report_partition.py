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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pulse_correlation.confidentiality import BELOW_K, DIFFERENCING, ROLLED_UP, Partition, Tree
from pulse_correlation.releases import FrozenPeriod, PeriodDecision
from pulse_correlation.report_cells import Index, ScopeRows, period_columns

_ROW_ATOMS = "report_partition.row_atoms:"


@dataclass(frozen=True)
class RowAtoms:
    """A period decision's ``row_atoms`` as codes, each distinct (unit id, atom) pair once,
    first seen first (what a report reads of them are sets: duplicates change nothing)."""

    source: PeriodDecision  # the decision these are the codes of
    units: list[str]  # unit ids as the rows spell them (the period's columns' when all)
    unit: Index  # per pair: index into ``units``
    atom: Index  # per pair: 0 when no released group holds the unit, else 1 + its atom's
    atoms: int  # 1 + the number of distinct atoms


def row_atoms(frozen: FrozenPeriod, decision: PeriodDecision) -> RowAtoms:
    """The codes of ``decision`` (one of ``frozen``'s), built on first use and kept with the
    period: a frozen period's decisions never change, every report reads them again."""
    key = _ROW_ATOMS + decision.construct
    found = frozen.memo.get(key)
    if isinstance(found, RowAtoms) and found.source is decision:
        return found
    # The period's column vocabulary when it spells every unit (it does: the same rows),
    # so that a report maps it to its scope once for the cells and every decision.
    vocabulary = period_columns(frozen).units
    units = {u: i for i, u in enumerate(vocabulary)}
    if any(u not in units for u, _ in decision.row_atoms):  # not the period's rows
        units = {}
        for u, _ in decision.row_atoms:
            units.setdefault(u, len(units))
        vocabulary = list(units)
    atoms: dict[str | None, int] = {None: 0}
    pairs = dict.fromkeys(
        (units[u], atoms.setdefault(a, len(atoms))) for u, a in decision.row_atoms
    )
    codes = np.array(list(pairs), dtype=np.intp).reshape(-1, 2)
    found = RowAtoms(decision, vocabulary, codes[:, 0].copy(), codes[:, 1].copy(), len(atoms))
    frozen.memo[key] = found
    return found


def _scope_pairs(table: RowAtoms, rows_of: ScopeRows) -> Index:
    """Per pair of ``table``: its unit's row among the report's scope units, -1 outside."""
    return rows_of(table.units)[table.unit]


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


def _join_atoms(
    table: RowAtoms, rows_of: ScopeRows, groups: _Groups, blocked: dict[str, str]
) -> None:
    """Join the scope units sharing an atom of one (period, construct); block those whose
    atom is no released group's (``below_k``) or holds people outside the scope
    (``differencing``). Only atoms held by several pairs, or blocked, need a Python step,
    taken in the order of the rows (atoms by first holder): the same joins and first
    reasons as going through every row, the others being no-ops."""
    rows = _scope_pairs(table, rows_of)
    inside = rows >= 0
    atom = table.atom
    crossing = np.zeros(table.atoms, dtype=np.bool_)
    if not inside.all():
        crossing[atom[~inside]] = True
        rows, atom = rows[inside], atom[inside]
    crossing[0] = True  # no released group: blocked as well (below_k)
    busy = crossing[atom] | (np.bincount(atom, minlength=table.atoms)[atom] > 1)
    if not busy.any():
        return
    holders: dict[int, list[str]] = {}
    for row, code in zip(rows[busy].tolist(), atom[busy].tolist(), strict=True):
        holders.setdefault(code, []).append(rows_of.units[row])
    for code, found in holders.items():
        if crossing[code]:
            for unit in found:
                blocked.setdefault(unit, BELOW_K if code == 0 else DIFFERENCING)
        for unit in found[1:]:
            groups.join(found[0], unit)


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
    rows_of: ScopeRows,
    periods: Sequence[tuple[FrozenPeriod, Mapping[str, PeriodDecision]]],
    own: Mapping[str, Mapping[str, int]],
    required: Mapping[str, str],
    k_of: Mapping[str, int],
) -> Partition:
    """``required`` maps each construct the report shows per unit to its measure; ``own``
    maps unit -> measure -> people over the range (the report's org). ``rows_of`` maps
    unit ids to the report's scope units, those of ``tree``."""
    units = tree.units()
    groups = _Groups(units)
    blocked: dict[str, str] = {}
    for f, decided in periods:
        for construct in required:
            decision = decided.get(construct)
            if decision is not None:  # else no row of the construct in the period
                _join_atoms(row_atoms(f, decision), rows_of, groups, blocked)
    depth = _depths(tree)
    _close_under_common_ancestors(tree, groups, depth)
    needed = [(m, k_of[m]) for m in required.values()]
    partition = Partition()
    for unit in sorted(units, key=lambda u: (-depth[u], u)):
        members = groups.members[groups.find(unit)]
        if len(members) > 1 and min(members, key=lambda u: (depth[u], u)) != unit:
            continue  # decided when its top unit comes
        counted = [own.get(m, {}) for m in members]
        people = [m for m, c in zip(members, counted, strict=True) if c and max(c.values()) > 0]
        if not people:
            continue
        reasons = [blocked[m] for m in members if m in blocked]
        if reasons:
            for member in people:
                partition.reasons.setdefault(member, min(reasons))
            continue
        if _enough(counted, needed):
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


def _enough(counted: list[Mapping[str, int]], needed: list[tuple[str, int]]) -> bool:
    """Whether the members' people (``counted``) reach k on every required measure."""
    return all(sum([c.get(measure, 0) for c in counted]) >= k for measure, k in needed)


def _depths(tree: Tree) -> dict[str, int]:
    """Depth of every unit of ``tree`` below its root (0), up each unit's path once."""
    depth = {tree.root: 0}
    for unit in tree.parents:
        path = []
        while unit not in depth:
            path.append(unit)
            unit = tree.parents[unit]
            if len(path) > len(tree.parents):
                raise ValueError(f"the parents of {unit!r} form a cycle")
        below = depth[unit]
        for found in reversed(path):
            below += 1
            depth[found] = below
    return depth
