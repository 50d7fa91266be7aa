"""GetScores and GetTrends: per unit and period, the numbers of the unit's whole subtree
(every respondent attributed to the unit or any unit below it, as the org stood at the end
of the range), in one unit of work that also records in the viewer's differencing ledger
what was released."""

from __future__ import annotations

from dataclasses import dataclass

from pulse_common.db import Connection
from pulse_common.measures import EMPLOYEE, is_nps

from pulse_correlation import aggregate_repository as aggregates_repo
from pulse_correlation import ledger_repository as ledger_repo
from pulse_correlation import org_repository as org_repo
from pulse_correlation.access import Scope, Viewer, as_of, resolve_scope
from pulse_correlation.aggregates import ConstructRow
from pulse_correlation.confidentiality import Ledger
from pulse_correlation.context import Deps
from pulse_correlation.dashboard_cache import RangeSums, keep_ledger, range_items, take_ledger
from pulse_correlation.score_cells import Cell, CellSums, base_constructs, release_cells


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
            Release(query, rows, scope, {scope.root} if query.trend else None),
            "trends" if query.trend else "scores",
        )


@dataclass(frozen=True)
class Release:
    """What one read releases: the query's constructs and range, its rows and scope, and
    the units whose cells are returned (None: all of the scope). With ``cached`` (the
    dashboard) item rows and the viewer's ledger come from the process's read cache."""

    query: ScoreQuery
    rows: list[ConstructRow]
    scope: Scope
    only_units: set[str] | None
    cached: RangeSums | None = None


async def release_in_scope(deps: Deps, conn: Connection, release: Release, source: str) -> Scores:
    """Sum the rows per cell, decide and release them through the viewer's ledger (locked
    for the rest of the transaction) and record what was released."""
    query, scope = release.query, release.scope
    sums = CellSums()
    sums.add_constructs(release.rows, scope)
    # Item rows only feed NPS categories and customer/internal top-two-box shares; employee
    # items are most of the rows and never needed here.
    categorised = sorted(c for c, p in sums.population.items() if is_nps(c) or p != EMPLOYEE)
    if categorised:
        if release.cached is not None:
            items = await range_items(
                conn, release.cached, query.period_from, query.period_to, categorised
            )
        else:
            items = await aggregates_repo.item_rows(
                conn, query.period_from, query.period_to, categorised
            )
        sums.add_items(items, scope)
    viewer_id = query.viewer.viewer_id
    await ledger_repo.lock_viewer(conn, viewer_id)
    measures = sums.measures
    measure_k = await aggregates_repo.measure_ks(conn)
    if release.cached is not None:
        ledger = await take_ledger(conn, deps.read_cache, viewer_id, deps.k, measure_k)
    else:
        groups = await ledger_repo.released_groups(conn, viewer_id, measures)
        ledger = Ledger(deps.k, groups, measure_k)
    k_applied = max([deps.k, *(ledger.k_for(m) for m in measures)])
    already = len(ledger.released)
    cells = release_cells(sums, scope, ledger, query.constructs, release.only_units)
    await ledger_repo.record_groups(conn, viewer_id, ledger.released[already:], source)
    if release.cached is not None:
        await keep_ledger(conn, deps.read_cache, viewer_id, ledger)
    return Scores(cells, k_applied)
