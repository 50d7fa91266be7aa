"""GetScores and GetTrends: per unit and period, the numbers of the unit's whole subtree
(every respondent attributed to the unit or any unit below it, as the org stood at the end
of that period), as released for everyone (``releases``). The scope is the viewer's subtree
as of the range's end; it selects which units are shown, never what they show."""

from __future__ import annotations

from dataclasses import dataclass

from pulse_common.db import Connection

from pulse_correlation import aggregate_repository as aggregates_repo
from pulse_correlation import org_repository as org_repo
from pulse_correlation import release_repository as release_repo
from pulse_correlation.access import Scope, Viewer, as_of, resolve_scope
from pulse_correlation.aggregates import ConstructRow
from pulse_correlation.context import Deps
from pulse_correlation.org import UnitVersion
from pulse_correlation.score_cells import Cell, base_constructs, release_cells


@dataclass(frozen=True)
class ScoreQuery:
    viewer: Viewer
    scope_unit_id: str  # "" = the viewer's own scope
    period_from: str  # "" = open
    period_to: str
    constructs: tuple[str, ...]  # () = every construct (and its top-2-box share)
    trend: bool = False  # only the scope unit itself (GetTrends)


@dataclass(frozen=True)
class Scores:
    cells: list[Cell]
    k_applied: int  # the largest k applied (the deployment's when no survey promised more)


async def scores(deps: Deps, query: ScoreQuery) -> Scores:
    """Cells for every unit of the scope (or only the scope unit: trends), period and
    construct."""
    async with deps.db.unit_of_work() as uow:
        conn = uow.conn
        versions = await org_repo.load_org(conn)
        rows = await aggregates_repo.construct_rows(
            conn, query.period_from, query.period_to, base_constructs(query.constructs)
        )
        scope = resolve_scope(
            versions,
            as_of(query.period_to, deps.today()),
            (r.unit_id for r in rows),
            query.viewer,
            query.scope_unit_id,
        )
        return await release_in_scope(
            deps,
            conn,
            Release(query, rows, scope, {scope.root} if query.trend else None, tuple(versions)),
        )


@dataclass(frozen=True)
class Release:
    """What one read shows: the query's constructs and range, its live rows (only to list
    the cells of periods not released yet) and scope, and the units whose cells are
    returned (None: all of the scope)."""

    query: ScoreQuery
    rows: list[ConstructRow]
    scope: Scope
    only_units: set[str] | None
    versions: tuple[UnitVersion, ...]  # the dated org, for freezing a period


async def release_in_scope(deps: Deps, conn: Connection, release: Release) -> Scores:
    """Freeze the range's ended periods not frozen yet, then show the scope's cells of every
    period from its deterministic release (``releases``); nothing depends on the viewer
    beyond which units are shown."""
    query = release.query
    frozen_ids, fresh = await release_repo.freeze_ended(
        conn,
        query.period_from,
        query.period_to,
        release.versions,
        deps.today(),
        deps.settings.release,
    )
    frozen = await release_repo.cached_frozen(conn, deps.read_cache, frozen_ids, fresh)
    done = set(frozen_ids)
    open_rows = [r for r in release.rows if r.period not in done]
    late_rows = [r for r in release.rows if r.period in done]
    cells, k_applied = release_cells(
        frozen,
        open_rows,
        release.scope,
        deps.k,
        query.constructs,
        release.only_units,
        late_rows,
    )
    return Scores(cells, k_applied)
