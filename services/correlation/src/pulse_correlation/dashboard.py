"""GetDashboard: one dashboard page in one read. The page is about one unit (the viewer's
scope by default; for the whole organisation its single top unit when there is one) and
shows that unit and its children (one level down) for every period of the range.

It reads the precomputed per-(unit, period) aggregates once (kept by
``dashboard_cache`` while they do not grow) to find the units, and shows the unit and its
children exactly as ``GetScores`` does: from each period's deterministic release over the
whole organisation (``releases``), the same numbers whoever asks and whatever was asked
before. A page never carries the whole organisation."""

from __future__ import annotations

from dataclasses import dataclass, field

from pulse_correlation import org_repository as org_repo
from pulse_correlation.access import Viewer, as_of, resolve_scope
from pulse_correlation.context import Deps
from pulse_correlation.dashboard_cache import range_sums
from pulse_correlation.dashboard_movers import Mover, latest_periods, movers
from pulse_correlation.org import ORG_ROOT, OrgSnapshot, snapshot
from pulse_correlation.score_cells import Cell, base_constructs
from pulse_correlation.scores import Release, ScoreQuery, release_in_scope


@dataclass(frozen=True)
class DashboardQuery:
    viewer: Viewer
    unit_id: str  # "" = the viewer's scope
    period_from: str  # "" = open
    period_to: str
    constructs: tuple[str, ...]  # () = every construct


@dataclass(frozen=True)
class UnitRef:
    """Field names are those of ``pb.DashboardUnit``."""

    unit_id: str
    name: str
    has_children: bool


@dataclass(frozen=True)
class Dashboard:
    unit: UnitRef
    children: list[UnitRef]
    path: list[UnitRef]  # from the viewer's scope down to ``unit`` (inclusive)
    cells: list[Cell]
    k_applied: int
    movers: list[Mover] = field(default_factory=list)  # every team of the subtree
    mover_units: dict[str, UnitRef] = field(default_factory=dict)


def focus_unit(org: OrgSnapshot, viewer_scope: str, requested: str) -> str:
    """The unit a page is about: the requested one, else the viewer's scope; the whole
    organisation with a single top unit is that unit (its number is releasable, the
    virtual root's is not)."""
    unit = org.canonical(requested or viewer_scope) if (requested or viewer_scope) else ORG_ROOT
    if unit == ORG_ROOT:
        tops = org.children(ORG_ROOT)
        if len(tops) == 1:
            return tops[0]
    return unit


def unit_ref(org: OrgSnapshot, unit_id: str) -> UnitRef:
    return UnitRef(unit_id, org.name(unit_id), bool(org.children(unit_id)))


def path_to(org: OrgSnapshot, viewer_scope: str, unit_id: str) -> list[UnitRef]:
    """The units from the top of the viewer's scope down to ``unit_id`` (breadcrumbs)."""
    top = org.canonical(viewer_scope) if viewer_scope else ORG_ROOT
    chain: list[str] = []
    current = unit_id
    while current != ORG_ROOT and current not in chain:
        chain.append(current)
        if current == top:
            break
        current = org.parent(current)
    return [unit_ref(org, u) for u in reversed(chain)]


async def dashboard(deps: Deps, query: DashboardQuery) -> Dashboard:
    async with deps.db.unit_of_work() as uow:
        conn = uow.conn
        versions = await org_repo.load_org(conn)
        cached = await range_sums(conn, deps.read_cache, query.period_from, query.period_to)
        wanted = base_constructs(query.constructs)
        rows = cached.rows if wanted is None else [r for r in cached.rows if r.construct in wanted]
        on = as_of(query.period_to, deps.today())
        data_units = {r.unit_id for r in rows}
        org = snapshot(versions, on)
        org = org.with_units(org.canonical(u) for u in data_units)
        focus = focus_unit(org, query.viewer.scope_unit_id, query.unit_id)
        # resolve_scope refuses a unit outside the viewer's subtree (PermissionDenied).
        scope = resolve_scope(versions, on, data_units, query.viewer, focus)
        tree = scope.tree.children()
        children = tree[scope.root]
        # "Moved most" looks at every team (unit without children) of the subtree.
        teams = {u for u, kids in tree.items() if not kids and u != scope.root}
        scores_query = ScoreQuery(
            query.viewer, focus, query.period_from, query.period_to, query.constructs
        )
        released = await release_in_scope(
            deps,
            conn,
            Release(scores_query, rows, scope, {scope.root, *children}, tuple(versions)),
        )
        # The teams' cells of the two latest periods with released numbers only: a second,
        # small read (every team over every period would cost the landing page seconds).
        latest, previous = latest_periods(released.cells)
        moved: list[Mover] = []
        if teams and previous:
            recent = await release_in_scope(
                deps,
                conn,
                Release(
                    ScoreQuery(query.viewer, focus, previous, latest, query.constructs),
                    [r for r in rows if r.period in (previous, latest)],
                    scope,
                    teams,
                    tuple(versions),
                ),
            )
            moved = movers(recent.cells, teams, latest, previous)
    return Dashboard(
        unit=unit_ref(scope.org, scope.root),
        children=sorted(
            (unit_ref(scope.org, c) for c in children), key=lambda u: (u.name, u.unit_id)
        ),
        path=path_to(scope.org, query.viewer.scope_unit_id, scope.root),
        cells=released.cells,
        k_applied=released.k_applied,
        movers=moved,
        mover_units={m.unit_id: unit_ref(scope.org, m.unit_id) for m in moved},
    )
