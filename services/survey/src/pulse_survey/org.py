"""The dated org hierarchy: create, rename/move/retype from a date, merge, list as of a
date. Every change is one transaction that also enqueues ``pulse.org.changed``; the SQL
lives in ``org_repository``."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import asyncpg
from pulse.events.v1 import events_pb2
from pulse_common import outbox, subjects
from pulse_common.db import Connection
from pulse_common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

from pulse_survey import org_repository as repo
from pulse_survey import roster_repository
from pulse_survey.context import Deps
from pulse_survey.domain import UnitVersion, children_of, subtree, with_depths

UNIT_TYPE_NAMES = {
    0: "UNIT_TYPE_UNSPECIFIED",
    1: "UNIT_TYPE_FRONT_LINE",
    2: "UNIT_TYPE_BACK_OFFICE",
    3: "UNIT_TYPE_MANAGEMENT",
}


async def units_as_of(conn: Connection | asyncpg.Pool, day: date) -> dict[str, UnitVersion]:
    """Every unit as the org stood on ``day``, with depths (roots have depth 0)."""
    return with_depths(await repo.versions_on(conn, day))


async def unit_as_of(conn: Connection, unit_id: str, day: date) -> UnitVersion | None:
    return (await units_as_of(conn, day)).get(unit_id)


async def _announce(
    conn: Connection,
    unit: UnitVersion,
    change: str,
    merged_into: str = "",
) -> None:
    org_version = await repo.stamp_change(conn, unit, change, merged_into)
    event = events_pb2.OrgChanged(
        unit_id=unit.unit_id,
        parent_id=unit.parent_id,
        name=unit.name,
        unit_type=UNIT_TYPE_NAMES.get(unit.unit_type, "UNIT_TYPE_UNSPECIFIED"),
        valid_from=unit.valid_from.isoformat(),
        valid_to=unit.valid_to.isoformat() if unit.valid_to else "",
        change=change,
        merged_into=merged_into,
        org_version=org_version,
    )
    await outbox.enqueue(conn, subjects.ORG_CHANGED, event, msg_id=f"org:{org_version}")


async def _require_parent(
    conn: Connection, parent_id: str, day: date, field: str = "parent_id"
) -> None:
    if parent_id and await unit_as_of(conn, parent_id, day) is None:
        raise NotFound(f"{field}: unit {parent_id} does not exist on {day.isoformat()}")


async def create_unit(
    deps: Deps, unit_id: str, name: str, parent_id: str, unit_type: int, effective_from: date
) -> UnitVersion:
    async with deps.transaction() as conn:
        await repo.lock_org(conn)
        if await repo.latest(conn, unit_id) is not None:
            raise AlreadyExists(f"unit {unit_id} already exists")
        await _require_parent(conn, parent_id, effective_from)
        unit = UnitVersion(unit_id, name, parent_id, unit_type, effective_from, None)
        await repo.insert(conn, unit, "created")
        await _announce(conn, unit, "created")
        result = (await units_as_of(conn, effective_from))[unit_id]
    deps.caches.org.invalidate()
    deps.notify()
    return result


async def _new_version(
    conn: Connection, current: UnitVersion, changed: UnitVersion, change: str
) -> None:
    """Apply ``changed`` from ``changed.valid_from``: in place when the current version
    starts that day, else by closing the current one there and opening a new one."""
    if changed.valid_from == current.valid_from:
        await repo.rewrite(conn, current, changed)
    else:
        await repo.close(conn, current, changed.valid_from)
        await repo.insert(conn, changed, change)
    await _announce(conn, changed, change)


async def _open_version(conn: Connection, unit_id: str, day: date) -> UnitVersion:
    current = await repo.latest(conn, unit_id)
    if current is None:
        raise NotFound(f"unit {unit_id} does not exist")
    if current.valid_to is not None:
        raise FailedPrecondition(f"unit {unit_id} was closed on {current.valid_to.isoformat()}")
    if day < current.valid_from:
        raise FailedPrecondition(
            f"unit {unit_id} has a version from {current.valid_from.isoformat()}; "
            "changes must not start before it"
        )
    return current


async def update_unit(
    deps: Deps,
    unit_id: str,
    name: str | None,
    parent_id: str | None,
    unit_type: int | None,
    effective_from: date,
) -> UnitVersion:
    async with deps.transaction() as conn:
        await repo.lock_org(conn)
        current = await _open_version(conn, unit_id, effective_from)
        changed = replace(current, valid_from=effective_from)
        change = ""
        if unit_type is not None and unit_type != current.unit_type:
            changed, change = replace(changed, unit_type=unit_type), "retyped"
        if name is not None and name != current.name:
            changed, change = replace(changed, name=name), "renamed"
        if parent_id is not None and parent_id != current.parent_id:
            await _require_parent(conn, parent_id, effective_from)
            if parent_id in subtree(await units_as_of(conn, effective_from), unit_id):
                raise InvalidArgument("parent_id", "would make the unit its own ancestor")
            changed, change = replace(changed, parent_id=parent_id), "moved"
        if change:
            await _new_version(conn, current, changed, change)
        result = (await units_as_of(conn, effective_from))[unit_id]
    deps.caches.org.invalidate()
    deps.notify()
    return result


async def merge_units(
    deps: Deps, source_id: str, target_id: str, day: date
) -> tuple[UnitVersion, int]:
    """Close ``source`` on ``day``; its child units and its people move to ``target``."""
    async with deps.transaction() as conn:
        await repo.lock_org(conn)
        source = await _open_version(conn, source_id, day)
        await _open_version(conn, target_id, day)
        if day <= source.valid_from:
            raise FailedPrecondition(
                f"effective_from: must be after {source.valid_from.isoformat()}, "
                f"when the current version of {source_id} starts"
            )
        units = await units_as_of(conn, day)
        if target_id in subtree(units, source_id):
            raise InvalidArgument("target_unit_id", "must not lie inside the source's subtree")
        await repo.close(conn, source, day)
        await _announce(conn, replace(source, valid_to=day), "merged", merged_into=target_id)
        for child in children_of(units.values(), source_id):
            current = await _open_version(conn, child.unit_id, day)
            await _new_version(
                conn, current, replace(current, parent_id=target_id, valid_from=day), "moved"
            )
        moved = await roster_repository.move_unit(conn, source_id, target_id)
        target = (await units_as_of(conn, day))[target_id]
    deps.caches.org.invalidate()
    deps.notify()
    return target, moved


async def list_units(deps: Deps, day: date, root: str) -> list[UnitVersion]:
    async with deps.connection() as conn:
        units = await units_as_of(conn, day)
    if root:
        if root not in units:
            raise NotFound(f"unit {root} does not exist on {day.isoformat()}")
        keep = subtree(units, root)
        units = {unit_id: unit for unit_id, unit in units.items() if unit_id in keep}
    return sorted(units.values(), key=lambda u: (u.depth, u.unit_id))
