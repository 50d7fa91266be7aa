"""The dated org hierarchy: create, rename/move/retype from a date, merge, list as of a
date. Every change is one unit of work that also enqueues ``pulse.org.changed``; the SQL
lives in ``org_repository``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import date

from pulse_common import subjects
from pulse_common.db import Connection
from pulse_common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from pulse_common.uow import UnitOfWork

from pulse_survey import events, roster_repository
from pulse_survey import org_repository as repo
from pulse_survey.context import Deps
from pulse_survey.domain import UnitVersion, children_of, subtree, with_depths


async def units_as_of(conn: Connection, day: date) -> dict[str, UnitVersion]:
    """Every unit as the org stood on ``day``, with depths (roots have depth 0)."""
    return with_depths(await repo.versions_on(conn, day))


async def unit_as_of(conn: Connection, unit_id: str, day: date) -> UnitVersion | None:
    return (await units_as_of(conn, day)).get(unit_id)


@asynccontextmanager
async def _org_change(deps: Deps) -> AsyncIterator[UnitOfWork]:
    """One org change: a unit of work holding the org lock (cycle checks and version
    numbering need a stable picture); the cached org is dropped once it committed."""
    async with deps.db.unit_of_work() as uow:
        await repo.lock_org(uow.conn)
        yield uow
    deps.caches.org.invalidate()


async def _announce(uow: UnitOfWork, unit: UnitVersion, change: str, merged_into: str = "") -> None:
    org_version = await repo.stamp_change(uow.conn, unit, change, merged_into)
    await uow.enqueue(
        subjects.ORG_CHANGED,
        events.org_changed(unit, change, merged_into, org_version),
        msg_id=events.org_msg_id(org_version),
    )


async def _require_parent(conn: Connection, parent_id: str, day: date) -> None:
    if parent_id and await unit_as_of(conn, parent_id, day) is None:
        raise NotFound(f"parent_id: unit {parent_id} does not exist on {day.isoformat()}")


async def create_unit(
    deps: Deps, unit_id: str, name: str, parent_id: str, unit_type: int, effective_from: date
) -> UnitVersion:
    async with _org_change(deps) as uow:
        if await repo.latest(uow.conn, unit_id) is not None:
            raise AlreadyExists(f"unit {unit_id} already exists")
        await _require_parent(uow.conn, parent_id, effective_from)
        unit = UnitVersion(unit_id, name, parent_id, unit_type, effective_from, None)
        await repo.insert(uow.conn, unit, "created")
        await _announce(uow, unit, "created")
        created = (await units_as_of(uow.conn, effective_from))[unit_id]
    return created


async def _new_version(
    uow: UnitOfWork, current: UnitVersion, changed: UnitVersion, change: str
) -> None:
    """Apply ``changed`` from ``changed.valid_from``: in place when the current version
    starts that day, else by closing the current one there and opening a new one."""
    if changed.valid_from == current.valid_from:
        await repo.rewrite(uow.conn, current, changed)
    else:
        await repo.close(uow.conn, current, changed.valid_from)
        await repo.insert(uow.conn, changed, change)
    await _announce(uow, changed, change)


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
    """Change what is given (None: keep) from ``effective_from``; nothing changed, no
    new version and no event."""
    async with _org_change(deps) as uow:
        current = await _open_version(uow.conn, unit_id, effective_from)
        changed = replace(current, valid_from=effective_from)
        change = ""
        if unit_type is not None and unit_type != current.unit_type:
            changed, change = replace(changed, unit_type=unit_type), "retyped"
        if name is not None and name != current.name:
            changed, change = replace(changed, name=name), "renamed"
        if parent_id is not None and parent_id != current.parent_id:
            await _require_parent(uow.conn, parent_id, effective_from)
            if parent_id in subtree(await units_as_of(uow.conn, effective_from), unit_id):
                raise InvalidArgument("parent_id", "would make the unit its own ancestor")
            changed, change = replace(changed, parent_id=parent_id), "moved"
        if change:
            await _new_version(uow, current, changed, change)
        updated = (await units_as_of(uow.conn, effective_from))[unit_id]
    return updated


async def merge_units(
    deps: Deps, source_id: str, target_id: str, day: date
) -> tuple[UnitVersion, int]:
    """Close ``source`` on ``day``; its child units and its people move to ``target``."""
    async with _org_change(deps) as uow:
        source = await _open_version(uow.conn, source_id, day)
        await _open_version(uow.conn, target_id, day)
        if day <= source.valid_from:
            raise FailedPrecondition(
                f"effective_from: must be after {source.valid_from.isoformat()}, "
                f"when the current version of {source_id} starts"
            )
        units = await units_as_of(uow.conn, day)
        if target_id in subtree(units, source_id):
            raise InvalidArgument("target_unit_id", "must not lie inside the source's subtree")
        await repo.close(uow.conn, source, day)
        await _announce(uow, replace(source, valid_to=day), "merged", merged_into=target_id)
        for child in children_of(units.values(), source_id):
            current = await _open_version(uow.conn, child.unit_id, day)
            moved_child = replace(current, parent_id=target_id, valid_from=day)
            await _new_version(uow, current, moved_child, "moved")
        moved = await roster_repository.move_unit(uow.conn, source_id, target_id)
        target = (await units_as_of(uow.conn, day))[target_id]
    return target, moved


async def list_units(deps: Deps, day: date, root: str) -> list[UnitVersion]:
    """The org on ``day`` (the subtree of ``root`` when given), parents before children."""
    async with deps.db.connection() as conn:
        units = await units_as_of(conn, day)
    if root:
        if root not in units:
            raise NotFound(f"unit {root} does not exist on {day.isoformat()}")
        keep = subtree(units, root)
        units = {unit_id: unit for unit_id, unit in units.items() if unit_id in keep}
    return sorted(units.values(), key=lambda u: (u.depth, u.unit_id))
