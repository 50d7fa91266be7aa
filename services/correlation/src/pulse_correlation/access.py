"""Request checks shared by the use cases: periods, the viewer's subtree, the org snapshot."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import asyncpg
from pulse_common.errors import InvalidArgument, PermissionDenied
from scipy import stats

from pulse_correlation import repository as repo
from pulse_correlation.domain import period_end, same_granularity, valid_period
from pulse_correlation.org import ORG_ROOT, OrgSnapshot, snapshot


@dataclass(frozen=True)
class Viewer:
    viewer_id: str
    scope_unit_id: str  # ORG_ROOT = whole org


def check_viewer(viewer_id: str, scope_unit_id: str, field: str = "viewer") -> Viewer:
    if not viewer_id.strip():
        raise InvalidArgument(f"{field}.viewer_id", "is required")
    if len(viewer_id) > 200:
        raise InvalidArgument(f"{field}.viewer_id", "must be at most 200 characters")
    return Viewer(viewer_id, scope_unit_id.strip())


def check_periods(period_from: str, period_to: str, prefix: str = "") -> tuple[str, str]:
    for name, value in (("period_from", period_from), ("period_to", period_to)):
        if value and not valid_period(value):
            raise InvalidArgument(prefix + name, "must be YYYY-MM or YYYY-Www")
    if period_from and period_to:
        if not same_granularity(period_from, period_to):
            raise InvalidArgument(prefix + "period_to", "must use the same kind of period")
        if period_from > period_to:
            raise InvalidArgument(prefix + "period_to", "must not be before period_from")
    return period_from, period_to


def as_of(period_to: str) -> dt.date:
    return period_end(period_to) if period_to else dt.date.today()


async def load_org(conn: asyncpg.Connection | asyncpg.Pool, period_to: str) -> OrgSnapshot:
    return snapshot(await repo.load_org(conn), as_of(period_to))


def resolve_scope(org: OrgSnapshot, viewer: Viewer, requested: str) -> str:
    """The subtree to read: ``requested`` (or the viewer's own scope), which must lie in the
    viewer's subtree."""
    viewer_root = org.canonical(viewer.scope_unit_id) if viewer.scope_unit_id else ORG_ROOT
    scope = org.canonical(requested.strip()) if requested.strip() else viewer_root
    if not org.is_within(scope, viewer_root):
        raise PermissionDenied("the requested unit is outside the viewer's scope")
    return scope


def mean_interval(
    n: int, total: float, squares: float, level: float = 0.95
) -> tuple[float, float, float, float]:
    """Mean, t-interval and standard error from sufficient statistics."""
    mean = total / n
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    variance = max(squares - total * total / n, 0.0) / (n - 1)
    se = math.sqrt(variance / n)
    half = float(stats.t.ppf(0.5 + level / 2.0, n - 1)) * se
    return mean, mean - half, mean + half, se
