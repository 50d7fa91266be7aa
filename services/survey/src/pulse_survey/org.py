"""The dated org hierarchy: create, rename/move/retype from a date, merge, list as of a
date. Every change is one transaction that also enqueues ``pulse.org.changed``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

import asyncpg
from pulse.events.v1 import events_pb2
from pulse_common import outbox, subjects
from pulse_common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound

from pulse_survey.context import Deps

UNIT_TYPE_NAMES = {
    0: "UNIT_TYPE_UNSPECIFIED",
    1: "UNIT_TYPE_FRONT_LINE",
    2: "UNIT_TYPE_BACK_OFFICE",
    3: "UNIT_TYPE_MANAGEMENT",
}
# Org writes are serialised: cycle checks and version numbering need a stable picture.
_ORG_LOCK = 0x5055_4C53_4F52_47  # "PULSORG"


@dataclass(frozen=True)
class UnitVersion:
    unit_id: str
    name: str
    parent_id: str  # "" = root
    unit_type: int
    valid_from: date
    valid_to: date | None
    depth: int = 0


def _version(row: asyncpg.Record) -> UnitVersion:
    return UnitVersion(
        unit_id=row["unit_id"],
        name=row["name"],
        parent_id=row["parent_id"] or "",
        unit_type=row["unit_type"],
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
    )


async def lock_org(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _ORG_LOCK)


async def units_as_of(conn: asyncpg.Connection | asyncpg.Pool, day: date) -> dict[str, UnitVersion]:
    """Every unit as the org stood on ``day``, with depths (roots have depth 0)."""
    rows = await conn.fetch(
        "SELECT * FROM org_versions WHERE valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1)",
        day,
    )
    units = {row["unit_id"]: _version(row) for row in rows}
    return {unit_id: replace(unit, depth=_depth(units, unit_id)) for unit_id, unit in units.items()}


def _depth(units: dict[str, UnitVersion], unit_id: str) -> int:
    depth, seen, current = 0, {unit_id}, units[unit_id].parent_id
    while current and current in units and current not in seen:
        seen.add(current)
        depth += 1
        current = units[current].parent_id
    return depth


def subtree(units: dict[str, UnitVersion], root: str) -> set[str]:
    """``root`` and all its descendants among ``units``."""
    children: dict[str, list[str]] = {}
    for unit in units.values():
        children.setdefault(unit.parent_id, []).append(unit.unit_id)
    found, stack = set(), [root]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.add(current)
        stack.extend(children.get(current, []))
    return found


async def unit_as_of(conn: asyncpg.Connection, unit_id: str, day: date) -> UnitVersion | None:
    return (await units_as_of(conn, day)).get(unit_id)


async def _latest(conn: asyncpg.Connection, unit_id: str) -> UnitVersion | None:
    row = await conn.fetchrow(
        "SELECT * FROM org_versions WHERE unit_id = $1 ORDER BY valid_from DESC LIMIT 1", unit_id
    )
    return None if row is None else _version(row)


async def _announce(
    conn: asyncpg.Connection,
    unit: UnitVersion,
    change: str,
    merged_into: str = "",
) -> None:
    org_version = int(await conn.fetchval("SELECT nextval('org_version_seq')"))
    await conn.execute(
        "UPDATE org_versions SET org_version = $3, change = $4, merged_into = NULLIF($5, '')"
        " WHERE unit_id = $1 AND valid_from = $2",
        unit.unit_id,
        unit.valid_from,
        org_version,
        change,
        merged_into,
    )
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


async def _insert(conn: asyncpg.Connection, unit: UnitVersion, change: str) -> None:
    await conn.execute(
        "INSERT INTO org_versions (unit_id, valid_from, valid_to, name, parent_id, unit_type,"
        " change, org_version) VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, 0)",
        unit.unit_id,
        unit.valid_from,
        unit.valid_to,
        unit.name,
        unit.parent_id,
        unit.unit_type,
        change,
    )


async def _require_parent(
    conn: asyncpg.Connection, parent_id: str, day: date, field: str = "parent_id"
) -> None:
    if parent_id and await unit_as_of(conn, parent_id, day) is None:
        raise NotFound(f"{field}: unit {parent_id} does not exist on {day.isoformat()}")


async def create_unit(
    deps: Deps, unit_id: str, name: str, parent_id: str, unit_type: int, effective_from: date
) -> UnitVersion:
    async with deps.transaction() as conn:
        await lock_org(conn)
        if await _latest(conn, unit_id) is not None:
            raise AlreadyExists(f"unit {unit_id} already exists")
        await _require_parent(conn, parent_id, effective_from)
        unit = UnitVersion(unit_id, name, parent_id, unit_type, effective_from, None)
        await _insert(conn, unit, "created")
        await _announce(conn, unit, "created")
        result = (await units_as_of(conn, effective_from))[unit_id]
    deps.notify()
    return result


async def _new_version(
    conn: asyncpg.Connection, current: UnitVersion, changed: UnitVersion, change: str
) -> None:
    """Apply ``changed`` from ``changed.valid_from``: in place when the current version
    starts that day, else by closing the current one there and opening a new one."""
    if changed.valid_from == current.valid_from:
        await conn.execute(
            "UPDATE org_versions SET name = $3, parent_id = NULLIF($4, ''), unit_type = $5"
            " WHERE unit_id = $1 AND valid_from = $2",
            current.unit_id,
            current.valid_from,
            changed.name,
            changed.parent_id,
            changed.unit_type,
        )
    else:
        await conn.execute(
            "UPDATE org_versions SET valid_to = $3 WHERE unit_id = $1 AND valid_from = $2",
            current.unit_id,
            current.valid_from,
            changed.valid_from,
        )
        await _insert(conn, changed, change)
    await _announce(conn, changed, change)


async def _open_version(conn: asyncpg.Connection, unit_id: str, day: date) -> UnitVersion:
    current = await _latest(conn, unit_id)
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
        await lock_org(conn)
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
    deps.notify()
    return result


async def merge_units(
    deps: Deps, source_id: str, target_id: str, day: date
) -> tuple[UnitVersion, int]:
    """Close ``source`` on ``day``; its child units and its people move to ``target``."""
    async with deps.transaction() as conn:
        await lock_org(conn)
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
        await conn.execute(
            "UPDATE org_versions SET valid_to = $3 WHERE unit_id = $1 AND valid_from = $2",
            source_id,
            source.valid_from,
            day,
        )
        await _announce(conn, replace(source, valid_to=day), "merged", merged_into=target_id)
        for child in _children(units.values(), source_id):
            current = await _open_version(conn, child.unit_id, day)
            await _new_version(
                conn, current, replace(current, parent_id=target_id, valid_from=day), "moved"
            )
        moved = await conn.execute(
            "UPDATE people SET unit_id = $2, updated_at = now() WHERE unit_id = $1",
            source_id,
            target_id,
        )
        target = (await units_as_of(conn, day))[target_id]
    deps.notify()
    return target, int(moved.split()[-1])


def _children(units: Iterable[UnitVersion], parent_id: str) -> list[UnitVersion]:
    return sorted((u for u in units if u.parent_id == parent_id), key=lambda u: u.unit_id)


async def list_units(deps: Deps, day: date, root: str) -> list[UnitVersion]:
    async with deps.connection() as conn:
        units = await units_as_of(conn, day)
    if root:
        if root not in units:
            raise NotFound(f"unit {root} does not exist on {day.isoformat()}")
        keep = subtree(units, root)
        units = {unit_id: unit for unit_id, unit in units.items() if unit_id in keep}
    return sorted(units.values(), key=lambda u: (u.depth, u.unit_id))
