"""The organisation as leaders' pages show it: the units of a viewer's subtree with their
names, and the rule that refuses a unit outside it (the web checks before it asks a service,
which checks again).

How fresh a subtree is belongs to ``pulse_common.scope.ScopeCache``, the one scope cache:
its fetch reads ``SurveyService.ListUnits`` once, keeps the units' names and depths here and
hands the cache their ids, so names are read again exactly when the subtree is."""

from __future__ import annotations

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


def tree_order(units: list[UnitInfo]) -> list[str]:
    """Unit ids depth-first (each parent followed by its children), for table rows."""
    children: dict[str, list[UnitInfo]] = {}
    ids = {u.unit_id for u in units}
    for unit in units:
        children.setdefault(unit.parent_id if unit.parent_id in ids else "", []).append(unit)
    order: list[str] = []
    stack = sorted(children.get("", []), key=lambda u: u.name, reverse=True)
    while stack:
        unit = stack.pop()
        order.append(unit.unit_id)
        stack.extend(sorted(children.get(unit.unit_id, []), key=lambda u: u.name, reverse=True))
    return order


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
        self._units[scope] = tuple(
            sorted((u for u in units if u.unit_id in ids), key=lambda u: (u.depth, u.name))
        )
        return ids

    async def subtree(self, scope: str) -> list[UnitInfo]:
        """Units under ``scope`` ("" = whole org) by depth, then name."""
        ids = await self._scopes.subtree(scope)
        return [unit for unit in self._units.get(scope, ()) if unit.unit_id in ids]

    async def units_for(self, viewer_scope: str, requested: str) -> list[UnitInfo]:
        """The viewer's subtree; PermissionDenied when ``requested`` lies outside it."""
        units = await self.subtree(viewer_scope)
        if not in_scope(viewer_scope, requested, {unit.unit_id for unit in units}):
            raise outside_scope(requested, viewer_scope)
        return units
