"""Who may read what, pure: the viewer, the org as of a range, and the subtree a request
reads (which must lie in the viewer's subtree)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from pulse_common.errors import PermissionDenied
from pulse_common.periods import period_end

from pulse_correlation.confidentiality import Tree
from pulse_correlation.org import ORG_ROOT, OrgSnapshot, UnitVersion, snapshot


@dataclass(frozen=True)
class Viewer:
    viewer_id: str
    scope_unit_id: str  # ORG_ROOT = whole org


@dataclass(frozen=True)
class Scope:
    """The org as of the range's end and the subtree a request reads."""

    org: OrgSnapshot
    root: str
    tree: Tree

    def units(self) -> set[str]:
        return set(self.tree.units())


def as_of(period_to: str, today: dt.date) -> dt.date:
    """The date the org is read as of: the last day of the range (today when open)."""
    return period_end(period_to) if period_to else today


def resolve_scope(
    versions: Iterable[UnitVersion],
    on: dt.date,
    data_units: Iterable[str],
    viewer: Viewer,
    requested: str,
) -> Scope:
    """The subtree to read: ``requested`` (or the viewer's own scope), which must lie in the
    viewer's subtree. Units seen only in the data (``data_units``, org events not arrived
    yet) are top-level until known."""
    org = snapshot(versions, on)
    org = org.with_units(org.canonical(u) for u in data_units)
    viewer_root = org.canonical(viewer.scope_unit_id) if viewer.scope_unit_id else ORG_ROOT
    root = org.canonical(requested) if requested else viewer_root
    if not org.is_within(root, viewer_root):
        raise PermissionDenied("the requested unit is outside the viewer's scope")
    return Scope(org, root, Tree(root, org.subtree_parents(root)))
