"""The dashboard: heatmap tables of released scores (units by periods) and a trend chart for
one unit and measure."""

from __future__ import annotations

import math
from typing import Any

from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse_common.measures import REPORT_DEFAULTS, human_name
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pulse_web.clients import Clients
from pulse_web.filters import unit_and_periods
from pulse_web.heatmap import build_tables
from pulse_web.leader_page import render, units_for
from pulse_web.org import UnitInfo, tree_order
from pulse_web.report_view import script_json
from pulse_web.session import current_account, viewer_of
from pulse_web.state import state_of

# The trend shown when no measure is chosen: the first of these with data.
TREND_PREFERENCE = ("treatment.fairness", REPORT_DEFAULTS.outcome)


async def dashboard(request: Request) -> Response:
    account = current_account(request)
    state = state_of(request)
    settings = state.config.settings
    params = request.query_params
    scope, period_from, period_to = unit_and_periods(params, "scope", settings.period)
    construct = (params.get("construct") or "").strip()
    units = await units_for(request, account, scope)
    api = state.api()
    viewer = viewer_of(account)
    scores = await api.call(
        api.correlation.GetScores,
        corr_pb.GetScoresRequest(
            viewer=viewer,
            scope_unit_id=scope or account.scope_unit_id,
            period_from=period_from,
            period_to=period_to,
        ),
    )
    min_group_size = scores.min_group_size or settings.min_group_size
    constructs = sorted({c.construct for c in scores.cells})
    tables = build_tables(
        (c for c in scores.cells if not construct or c.construct == construct),
        min_group_size,
        tree_order(units),
    )
    trend_unit = scope or account.scope_unit_id or (units[0].unit_id if units else "")
    trend_construct = construct or default_construct(constructs)
    trend: dict[str, Any] = {
        "labels": [],
        "values": [],
        "construct": trend_construct,
        "name": human_name(trend_construct) if trend_construct else "",
    }
    if trend_unit and trend_construct:
        request_trend = corr_pb.GetTrendsRequest(
            viewer=viewer,
            unit_id=trend_unit,
            construct=trend_construct,
            period_from=period_from,
            period_to=period_to,
        )
        trend.update(await _trend_series(api, request_trend, units))
    return render(
        request,
        "dashboard.html",
        {
            "units": units,
            "scope": scope,
            "period_from": period_from,
            "period_to": period_to,
            "construct": construct,
            "constructs": constructs,
            "tables": tables,
            "min_group_size": min_group_size,
            "chart_json": script_json({"trend": trend}),
            "trend": trend,
        },
    )


async def _trend_series(
    api: Clients, request: corr_pb.GetTrendsRequest, units: list[UnitInfo]
) -> dict[str, Any]:
    """Labels, values and interval of one unit's trend, with gaps where nothing is shown."""
    trends = await api.call(api.correlation.GetTrends, request)
    points = sorted(trends.points, key=lambda p: p.period)
    return {
        "labels": [p.period for p in points],
        "values": [_shown(p, p.value) for p in points],
        "low": [_shown(p, p.ci_low) for p in points],
        "high": [_shown(p, p.ci_high) for p in points],
        "unit": next((u.name for u in units if u.unit_id == request.unit_id), request.unit_id),
    }


def _shown(cell: corr_pb.ScoreCell, value: float) -> float | None:
    """A chart gap for suppressed or undefined values."""
    return None if cell.suppressed or not math.isfinite(value) else round(value, 2)


def default_construct(constructs: list[str]) -> str:
    for preferred in TREND_PREFERENCE:
        if preferred in constructs:
            return preferred
    return constructs[0] if constructs else ""


routes = [Route("/dashboard", dashboard, methods=["GET"])]
