"""Use cases of detractor follow-ups: raise one inside Submit's unit of work (with its
``pulse.detractor.flagged`` event: both or neither, at most one per response), list a team's
open ones, close one with its outcome, count flagged/closed per period. Reads are limited to
the caller's scope (a leader sees the follow-ups of the teams in their subtree)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from pulse.events.v1 import events_pb2
from pulse.types.v1 import types_pb2
from pulse_common import subjects
from pulse_common.errors import FailedPrecondition, NotFound
from pulse_common.fields import rfc3339
from pulse_common.uow import UnitOfWork

from pulse_response import follow_up_repository as repo
from pulse_response.context import Deps
from pulse_response.detractors import FollowUp, follow_up_of
from pulse_response.domain import NewResponse
from pulse_response.viewer import require_in_scope, visible_units


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def flagged_event(f: FollowUp) -> events_pb2.DetractorFlagged:
    return events_pb2.DetractorFlagged(
        follow_up_id=str(f.follow_up_id),
        unit_id=f.unit_id,
        period=f.period,
        channel=f.channel,
        construct=f.construct,
        score=f.score,
        contact=f.contact,
        flagged_at=rfc3339(f.flagged_at),
    )


async def flag_if_detractor(
    uow: UnitOfWork,
    response: NewResponse,
    definition: types_pb2.SurveyDefinition,
    contact: str,
) -> FollowUp | None:
    """Inside the response's unit of work: the follow-up and its event, or nothing."""
    found = follow_up_of(response, definition, contact, _now())
    if found is None or not await repo.insert(uow.conn, found):
        return None
    await uow.enqueue(
        subjects.DETRACTOR_FLAGGED, flagged_event(found), msg_id=f"detractor:{found.follow_up_id}"
    )
    return found


@dataclass(frozen=True)
class FollowUpQuery:
    unit_id: str  # "" = every unit in scope
    scope_unit_id: str
    include_closed: bool
    limit: int


async def _units(deps: Deps, unit_id: str, scope_unit_id: str) -> frozenset[str] | None:
    if unit_id:
        await require_in_scope(deps, scope_unit_id, unit_id)
        return frozenset({unit_id})
    return await visible_units(deps, scope_unit_id)


async def list_follow_ups(deps: Deps, query: FollowUpQuery) -> list[FollowUp]:
    units = await _units(deps, query.unit_id, query.scope_unit_id)
    async with deps.db.connection() as conn:
        return await repo.list_follow_ups(conn, units, query.include_closed, query.limit)


async def close_follow_up(
    deps: Deps, follow_up_id: uuid.UUID, outcome: str, scope_unit_id: str
) -> FollowUp:
    async with deps.db.unit_of_work() as uow:
        found = await repo.get(uow.conn, follow_up_id)
        if found is None:
            raise NotFound(f"follow-up {follow_up_id} not found")
        await require_in_scope(deps, scope_unit_id, found.unit_id)
        if found.closed_at is not None:
            raise FailedPrecondition(f"follow-up {follow_up_id} is already closed")
        return await repo.close(uow.conn, follow_up_id, outcome, _now())


async def count_follow_ups(
    deps: Deps, unit_id: str, scope_unit_id: str, period_from: str, period_to: str
) -> list[tuple[str, int, int]]:
    units = await _units(deps, unit_id, scope_unit_id)
    async with deps.db.connection() as conn:
        return await repo.counts(conn, units, period_from, period_to)


async def count_follow_ups_by_unit(
    deps: Deps, unit_id: str, scope_unit_id: str, period_from: str, period_to: str
) -> list[tuple[str, str, int, int]]:
    """(unit, period, flagged, closed): customers' follow-ups, no employee data."""
    units = await _units(deps, unit_id, scope_unit_id)
    async with deps.db.connection() as conn:
        return await repo.counts_by_unit(conn, units, period_from, period_to)
