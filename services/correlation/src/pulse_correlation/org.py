"""The dated org, pure: which version of every unit holds on a date, and the tree it forms.

Reports and scores read the org **as of the last day of the requested period range** (today
when the range is open): hierarchy, names and unit types come from that snapshot, while the
aggregates keep the unit each response was attributed to when it was given. A unit with no
version on or before the date uses its earliest version; a unit whose last version before the
date is closed keeps that version (its history still counts under its last parent); a merged
unit is read as part of the unit it merged into. Units that appear in aggregates but not in
the org (events not arrived yet) are top-level until known.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

ORG_ROOT = ""  # virtual root above the top-level units (the whole organisation)


@dataclass(frozen=True)
class UnitVersion:
    unit_id: str
    valid_from: dt.date
    valid_to: dt.date | None
    parent_id: str
    name: str
    unit_type: str
    change: str
    merged_into: str
    org_version: int


@dataclass(frozen=True)
class UnitInfo:
    unit_id: str
    parent_id: str
    name: str
    unit_type: str

    @property
    def front_line(self) -> bool:
        return "FRONT" in self.unit_type.upper()


class OrgSnapshot:
    """The org tree on one date. ``parent(u)`` is ``ORG_ROOT`` for top-level or unknown units."""

    def __init__(self, units: dict[str, UnitInfo], merged: dict[str, str]) -> None:
        self.units = units
        self._merged = merged
        self._children: dict[str, list[str]] = {}
        for info in units.values():
            self._children.setdefault(self.parent(info.unit_id), []).append(info.unit_id)
        for kids in self._children.values():
            kids.sort()

    @property
    def merged(self) -> dict[str, str]:
        """merged unit -> the unit it merged into (as of the snapshot's date)."""
        return dict(self._merged)

    def canonical(self, unit_id: str) -> str:
        """The unit a (possibly merged) unit's data counts under."""
        seen: set[str] = set()
        while unit_id in self._merged and unit_id not in seen:
            seen.add(unit_id)
            unit_id = self._merged[unit_id]
        return unit_id

    def known(self, unit_id: str) -> bool:
        return unit_id in self.units

    def parent(self, unit_id: str) -> str:
        info = self.units.get(unit_id)
        if info is None or info.parent_id == unit_id:
            return ORG_ROOT
        parent = self.canonical(info.parent_id)
        return parent if parent in self.units and parent != unit_id else ORG_ROOT

    def name(self, unit_id: str) -> str:
        if unit_id == ORG_ROOT:
            return "organisation"
        info = self.units.get(unit_id)
        return info.name if info is not None and info.name else unit_id

    def front_line(self, unit_id: str) -> bool:
        info = self.units.get(unit_id)
        return info is not None and info.front_line

    def with_units(self, unit_ids: Iterable[str]) -> OrgSnapshot:
        """Add units seen only in data as top-level units."""
        extra = {
            u: UnitInfo(u, ORG_ROOT, u, "")
            for u in unit_ids
            if u not in self.units and u not in self._merged and u != ORG_ROOT
        }
        if not extra:
            return self
        return OrgSnapshot({**self.units, **extra}, self._merged)

    def children(self, unit_id: str) -> list[str]:
        return self._children.get(unit_id, [])

    def is_within(self, unit_id: str, root: str) -> bool:
        """True when ``unit_id`` lies in the subtree of ``root`` (ORG_ROOT = everything)."""
        if root == ORG_ROOT:
            return True
        seen: set[str] = set()
        current = unit_id
        while current != ORG_ROOT and current not in seen:
            if current == root:
                return True
            seen.add(current)
            current = self.parent(current)
        return False

    def subtree_parents(self, root: str) -> dict[str, str]:
        """parent map of every unit strictly below ``root`` (cycle-safe)."""
        parents: dict[str, str] = {}
        stack = [root]
        seen = {root}
        while stack:
            node = stack.pop()
            for child in self.children(node):
                if child not in seen:
                    seen.add(child)
                    parents[child] = node
                    stack.append(child)
        return parents


def snapshot(versions: Iterable[UnitVersion], as_of: dt.date) -> OrgSnapshot:
    by_unit: dict[str, list[UnitVersion]] = {}
    for version in versions:
        by_unit.setdefault(version.unit_id, []).append(version)
    units: dict[str, UnitInfo] = {}
    merged: dict[str, str] = {}
    for unit_id, history in by_unit.items():
        history.sort(key=lambda v: (v.valid_from, v.org_version))
        started = [v for v in history if v.valid_from <= as_of]
        chosen = started[-1] if started else history[0]
        if chosen.change == "merged" and chosen.merged_into and chosen.merged_into != unit_id:
            merged[unit_id] = chosen.merged_into
            continue
        units[unit_id] = UnitInfo(unit_id, chosen.parent_id, chosen.name, chosen.unit_type)
    return OrgSnapshot(units, merged)
