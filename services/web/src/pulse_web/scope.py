"""Subtree checks: the web refuses a unit outside the viewer's subtree before it asks a
service (which checks again) (pure)."""

from __future__ import annotations

from collections.abc import Iterable


def subtree_ids(root: str, edges: Iterable[tuple[str, str]]) -> set[str]:
    """Ids under ``root`` (inclusive) from (unit_id, parent_id) pairs; "" = everything."""
    pairs = list(edges)
    if not root:
        return {unit for unit, _ in pairs}
    children: dict[str, list[str]] = {}
    for unit, parent in pairs:
        children.setdefault(parent, []).append(unit)
    found = {root}
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def in_scope(viewer_scope: str, requested: str, subtree: set[str]) -> bool:
    """An empty request means "my scope"; the whole-org viewer may ask for anything."""
    if not requested or not viewer_scope:
        return True
    return requested in subtree
