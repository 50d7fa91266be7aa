"""The organisation as leaders' pages show it: the units of a viewer's subtree with their
names, and the rule that refuses a unit outside it (the web checks before it asks a service,
which checks again).

How fresh a subtree is belongs to ``pulse_common.scope.ScopeCache``, the one scope cache:
its fetch reads ``SurveyService.ListUnits`` once, keeps the units' names and depths here and
hands the cache their ids, so names are read again exactly when the subtree is."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse_common import errors
from pulse_common.scope import ScopeCache, outside_scope, subtree_ids

from pulse_web.clients import Clients


@dataclass(frozen=True)
class UnitInfo:
    unit_id: str
    name: str
    parent_id: str
    depth: int


def in_scope(viewer_scope: str, requested: str, subtree: Collection[str]) -> bool:
    """An empty request means "my scope"; the whole-org viewer may ask for anything."""
    if not requested or not viewer_scope:
        return True
    return requested in subtree


_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key reading runs of digits as numbers: Team 2 before Team 10 ("natural sort")."""
    return tuple(
        (1, int(part), "") if part.isdigit() else (0, 0, part.casefold())
        for part in _DIGITS.split(name)
        if part
    )


def tree_units(units: Collection[UnitInfo]) -> list[UnitInfo]:
    """Units depth-first (each parent followed by its children, siblings in natural order):
    the order of unit pickers and table rows."""
    children: dict[str, list[UnitInfo]] = {}
    ids = {u.unit_id for u in units}
    for unit in units:
        children.setdefault(unit.parent_id if unit.parent_id in ids else "", []).append(unit)

    def siblings(parent: str) -> list[UnitInfo]:
        found = children.get(parent, [])
        return sorted(found, key=lambda u: (natural_key(u.name), u.unit_id), reverse=True)

    order: list[UnitInfo] = []
    stack = siblings("")
    while stack:
        unit = stack.pop()
        order.append(unit)
        stack.extend(siblings(unit.unit_id))
    return order


def tree_order(units: list[UnitInfo]) -> list[str]:
    """Unit ids depth-first (each parent followed by its children), for table rows."""
    return [unit.unit_id for unit in tree_units(units)]


class OrgView:
    """Subtrees of the viewers' scopes. Only account scopes (configured, so few) are ever
    asked for, which bounds the names kept here."""

    def __init__(self, clients: Callable[[], Clients], ttl_s: float) -> None:
        self._clients = clients
        self._units: dict[str, tuple[UnitInfo, ...]] = {}
        self._scopes = ScopeCache(self._fetch, ttl_s)

    async def _fetch(self, scope: str) -> frozenset[str] | None:
        api = self._clients()
        try:
            reply = await api.call(
                api.survey.ListUnits,
                survey_pb.ListUnitsRequest(root_unit_id=scope),
                metadata=api.scope_metadata(scope),
            )
        except errors.NotFound:
            return None  # the cache refuses an unknown scope (fail closed)
        ids = subtree_ids(scope, ((u.unit_id, u.parent_id) for u in reply.units))
        units = [UnitInfo(u.unit_id, u.name, u.parent_id, u.depth) for u in reply.units]
        self._units[scope] = tuple(tree_units([u for u in units if u.unit_id in ids]))
        return ids

    async def subtree(self, scope: str) -> list[UnitInfo]:
        """Units under ``scope`` ("" = whole org) as a tree (``tree_units``)."""
        ids = await self._scopes.subtree(scope)
        return [unit for unit in self._units.get(scope, ()) if unit.unit_id in ids]

    async def units_for(
        self, viewer_scope: str, requested: str, field: str = "scope"
    ) -> list[UnitInfo]:
        """The viewer's subtree; PermissionDenied when ``requested`` lies outside it, and
        InvalidArgument naming ``field`` when the whole-organisation viewer asks for a unit
        the organisation does not have (never silently the whole organisation)."""
        units = await self.subtree(viewer_scope)
        ids = {unit.unit_id for unit in units}
        if not in_scope(viewer_scope, requested, ids):
            raise outside_scope(requested, viewer_scope)
        if requested and not viewer_scope and requested not in ids:
            raise unknown_unit(field, requested, units)
        return units


def unknown_unit(field: str, requested: str, units: Collection[UnitInfo]) -> errors.InvalidArgument:
    """ "is not a unit of the organisation", with the closest unit id or name."""
    names = {unit.unit_id: unit.name for unit in units}
    near = difflib.get_close_matches(requested, [*names, *names.values()], n=1)
    hint = ""
    if near:
        match = next((i for i, name in names.items() if near[0] in (i, name)), near[0])
        hint = f"; did you mean {names.get(match, match)} ({match})?"
    return errors.InvalidArgument(field, f"{requested!r} is not a unit of the organisation{hint}")
