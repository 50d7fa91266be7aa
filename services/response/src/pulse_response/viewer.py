"""Viewer scope in the reads (DESIGN §3), from the caller's verified token: an empty scope
is the whole organisation,
otherwise the scope unit's subtree as the survey service's org tree stands today (cached,
see ``pulse_common.scope``). Checked after the request's own fields."""

from __future__ import annotations

from pulse_common.errors import PermissionDenied
from pulse_common.fields import is_id
from pulse_common.scope import outside_scope

from pulse_response.context import Deps


async def visible_units(deps: Deps, scope_unit_id: str) -> frozenset[str] | None:
    """The units a viewer may see, or None for the whole organisation (empty scope). The
    scope is the caller token's (``pulse_common.auth``), never a request field."""
    if not scope_unit_id:
        return None
    if not is_id(scope_unit_id):
        raise PermissionDenied(f"your scope {scope_unit_id!r} is not a unit id")
    return await deps.scopes.subtree(scope_unit_id)


async def require_in_scope(deps: Deps, scope_unit_id: str, unit_id: str) -> None:
    units = await visible_units(deps, scope_unit_id)
    if units is not None and unit_id not in units:
        raise outside_scope(unit_id, scope_unit_id)
