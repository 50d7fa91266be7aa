"""Use cases of actions: record one, list them, and read one with its before/after and the
comparison with units without an action (``action_effect``). Reads the released periods
only (``releases``): every value is a unit's released number (its subtree), the same any
viewer sees. Each takes the caller's scope ("" = the whole organisation): a unit outside it
is PERMISSION_DENIED, lists hold only units inside it."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from pulse_common.db import Connection
from pulse_common.errors import NotFound
from pulse_common.measures import EMPLOYEE, is_outcome, outcome_population
from pulse_common.scope import outside_scope

from pulse_correlation import action_repository as repo
from pulse_correlation import aggregate_repository as aggregates_repo
from pulse_correlation import org_repository as org_repo
from pulse_correlation import release_repository as release_repo
from pulse_correlation.action_effect import Effect, UnitChange, did, unit_changes
from pulse_correlation.action_model import ActionRecord, start_period, windows
from pulse_correlation.aggregates import measure_key
from pulse_correlation.confidentiality import effective_k
from pulse_correlation.context import Deps
from pulse_correlation.org import OrgSnapshot, snapshot
from pulse_correlation.releases import released_means


@dataclass(frozen=True)
class NewAction:
    unit_id: str
    measure: str
    title: str
    owner: str
    start_date: dt.date
    outcome: str


@dataclass(frozen=True)
class Comparison:
    measure: str
    when: str  # "" | "+1" | "+2"
    acted: UnitChange | None
    effect: Effect


@dataclass(frozen=True)
class ActionView:
    action: ActionRecord
    start_period: str
    points: list[tuple[str, float, int]]  # the acted unit's released (period, value, n)
    comparisons: list[Comparison]
    k: int


def _population(measure: str) -> str:
    return outcome_population(measure) if is_outcome(measure) else EMPLOYEE


async def _org(conn: Connection, deps: Deps) -> OrgSnapshot:
    return snapshot(await org_repo.load_org(conn), deps.today())


def _require_in_scope(org: OrgSnapshot, unit_id: str, scope: str) -> None:
    if scope and not org.is_within(org.canonical(unit_id), org.canonical(scope)):
        raise outside_scope(unit_id, scope)


async def add_action(deps: Deps, new: NewAction, scope: str) -> ActionRecord:
    record = ActionRecord(
        action_id=str(uuid.uuid4()),
        unit_id=new.unit_id,
        measure=new.measure,
        title=new.title,
        owner=new.owner,
        start_date=new.start_date,
        outcome=new.outcome,
        created_at=deps.now(),
    )
    async with deps.db.unit_of_work() as uow:
        _require_in_scope(await _org(uow.conn, deps), new.unit_id, scope)
        await repo.insert(uow.conn, record)
    return record


async def list_actions(deps: Deps, unit_id: str, limit: int, scope: str) -> list[ActionRecord]:
    async with deps.db.connection() as conn:
        org = await _org(conn, deps)
        if unit_id:
            _require_in_scope(org, unit_id, scope)
        found = await repo.list_actions(conn, unit_id, limit)
    if not scope:
        return found
    root = org.canonical(scope)
    return [a for a in found if org.is_within(org.canonical(a.unit_id), root)]


async def action_view(
    deps: Deps, action_id: uuid.UUID, window: int, level: float, scope: str
) -> ActionView:
    granularity = deps.settings.period
    async with deps.db.unit_of_work() as uow:
        conn = uow.conn
        action = await repo.get(conn, action_id)
        if action is None:
            raise NotFound(f"action {action_id} not found")
        spans = windows(action.start_date, granularity, window)
        periods = sorted({p for w in spans.values() for p in (*w.before, *w.after)})
        # Only released numbers, as everyone sees them (``releases``).
        released, fresh = await release_repo.freeze_ended(
            conn,
            periods[0],
            periods[-1],
            await org_repo.load_org(conn),
            deps.today(),
            deps.settings.release,
        )
        frozen = await release_repo.cached_frozen(conn, deps.read_cache, released, fresh)
        measure_k = await aggregates_repo.measure_ks(conn)
        acted_elsewhere = {
            *await repo.units_with_action(conn, action.measure),
            *await repo.units_with_action(conn, action.outcome),
        }
        org = await _org(conn, deps)
    _require_in_scope(org, action.unit_id, scope)
    kind = org.units[action.unit_id].unit_type if org.known(action.unit_id) else ""
    comparison_units = [
        u
        for u, info in org.units.items()
        if info.unit_type == kind
        and u not in acted_elsewhere
        # Released numbers cover a unit's subtree: no unit above or below the acted one.
        and not org.is_within(u, action.unit_id)
        and not org.is_within(action.unit_id, u)
    ]
    ks = {
        m: effective_k(deps.k, measure_k, measure_key(_population(m), m))
        for m in (action.measure, action.outcome)
    }
    scores = released_means(frozen, deps.k, (action.measure, action.outcome))
    comparisons = []
    for when, measure in (("", action.measure), ("+1", action.outcome), ("+2", action.outcome)):
        values = {key: value for key, (value, _) in scores[measure].items()}
        acted = unit_changes(values, [action.unit_id], spans[when])
        others = unit_changes(values, comparison_units, spans[when])
        comparisons.append(
            Comparison(measure, when, acted[0] if acted else None, did(acted, others, level))
        )
    points = sorted(
        (p, value, n)
        for (u, p), (value, n) in scores[action.measure].items()
        if u == action.unit_id
    )
    return ActionView(
        action, start_period(action.start_date, granularity), points, comparisons, max(ks.values())
    )
