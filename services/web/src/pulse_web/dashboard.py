"""The dashboard a leader lands on, and its drill-down: one unit per page (the leader's
scope first; ``?scope=<unit>`` one level further down), from one ``GetDashboard`` call
(plus the latest linkage report's summary), never the whole organisation at once; and the
CSV downloads of its heatmap and trends."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse_common import errors
from pulse_common.measures import REPORT_DEFAULTS
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pulse_web.accounts import Account
from pulse_web.exports import csv_response, dashboard_rows
from pulse_web.filters import checked_unit_and_periods, unit_and_periods
from pulse_web.follow_up_counts import follow_up_rows
from pulse_web.form_errors import FormErrors
from pulse_web.heatmap import build_tables
from pulse_web.leader_page import render, units_for
from pulse_web.org import natural_key
from pulse_web.report_view import script_json
from pulse_web.session import current_account
from pulse_web.state import state_of
from pulse_web.summary import build_page, interval_known, link_points, trend_lines
from pulse_web.words import measure_label, scale_of, unit_word

# The heatmap's measure when none is chosen: the first of these with data.
TREND_PREFERENCE = ("treatment.fairness", REPORT_DEFAULTS.outcome)
CONSTRUCT = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")


def default_construct(constructs: list[str]) -> str:
    for preferred in TREND_PREFERENCE:
        if preferred in constructs:
            return preferred
    return constructs[0] if constructs else ""


def _construct(text: str | None) -> str:
    value = (text or "").strip()
    if value and not CONSTRUCT.match(value):
        raise errors.InvalidArgument("construct", "is not a measure code like treatment.fairness")
    return value


async def _read(
    request: Request, found: FormErrors | None = None
) -> tuple[Account, corr_pb.GetDashboardResponse, str]:
    """The page's data: the web's own scope check, then the one batched read. With ``found``
    (the page, not a download) a bad filter is recorded there and left out instead."""
    account = current_account(request)
    state = state_of(request)
    query, granularity = request.query_params, state.config.settings.period
    if found is None:
        unit, period_from, period_to = unit_and_periods(query, "scope", granularity)
        construct = _construct(query.get("construct"))
        await units_for(request, account, unit)
    else:
        unit, period_from, period_to = checked_unit_and_periods(query, "scope", granularity, found)
        construct = found.check(lambda: _construct(query.get("construct")), "")
        if unit and await found.check_async(units_for(request, account, unit)) is None:
            unit = ""
    api = state.api()
    reply = await api.call(
        api.correlation.GetDashboard,
        corr_pb.GetDashboardRequest(
            unit_id=unit,
            period_from=period_from,
            period_to=period_to,
        ),
    )
    return account, reply, construct


async def _reports(request: Request) -> corr_pb.ListReportsResponse:
    api = state_of(request).api()
    return await api.call(
        api.correlation.ListReports,
        corr_pb.ListReportsRequest(limit=20),
    )


def latest_report(listing: corr_pb.ListReportsResponse, unit_id: str, top: bool) -> dict[str, Any]:
    """The newest linkage report on this unit the viewer can open, as one sentence (a report
    on "my scope" counts for the top of the viewer's scope only)."""
    scopes = {unit_id, ""} if top else {unit_id}
    for summary in listing.reports:
        if summary.scope_unit_id in scopes:
            level = (summary.verdict_level or "not rated").replace("_", " ")
            return {
                "report_id": summary.report_id,
                "sentence": (
                    f"The latest linkage report ({summary.created_at[:10]}) rates the link "
                    f"between how staff are treated and {measure_label(summary.outcome)} "
                    f"as {level}, across {summary.units_reported} units."
                ),
            }
    return {}


async def _follow_ups(request: Request) -> resp_pb.CountFollowUpsResponse:
    """Customers' detractor follow-ups per team and period in the leader's scope."""
    api = state_of(request).api()
    return await api.call(api.response.CountFollowUps, resp_pb.CountFollowUpsRequest(by_unit=True))


async def dashboard(request: Request) -> Response:
    # The page's one batched read, the report list and the follow-up counts, side by side.
    found = FormErrors()
    (account, reply, construct), listing, follow_ups = await asyncio.gather(
        _read(request, found), _reports(request), _follow_ups(request)
    )
    report = latest_report(listing, reply.unit.unit_id, top=len(reply.path) <= 1)
    k = reply.min_group_size or state_of(request).config.settings.min_group_size
    page = build_page(reply, k)
    page.rows.sort(key=lambda row: natural_key(row.name))  # Team 2 before Team 10
    heat = construct or default_construct(page.measures)
    children = [c.unit_id for c in sorted(reply.children, key=lambda c: natural_key(c.name))]
    heat_cells = [c for c in reply.cells if c.construct == heat and c.unit_id in set(children)]
    names = {u.unit_id: u.name for u in (reply.unit, *reply.children, *reply.path)}
    tables = build_tables(heat_cells, k, children, names)
    low, high = scale_of(heat)
    unit_cells = [c for c in reply.cells if c.unit_id == reply.unit.unit_id]
    own = {c.period: c for c in unit_cells if c.construct == heat}
    series = [own.get(p) for p in page.periods]
    charts: dict[str, Any] = {
        "trends": trend_lines(reply, page.periods, page.measures),
        "link": link_points(reply, page.latest),
        "trend": {
            "labels": page.periods,
            "values": [_shown(c, "value") for c in series],
            "low": [_shown(c, "ci_low") for c in series],
            "high": [_shown(c, "ci_high") for c in series],
            "name": measure_label(heat),
            "yLabel": f"{measure_label(heat)} ({unit_word(heat)})",
            "min": low,
            "max": high,
        },
    }
    units = await units_for(request, account, "")
    # Follow-ups are counted as they come (customers only, no k), also in a period whose
    # scores are not released yet: from the page's first period on, the latest one named.
    first = page.periods[0] if page.periods else ""
    counted = {c.period for c in follow_ups.counts if c.period >= first}
    follow_up_period = max([*counted, page.latest], default="")
    follow_up_table = follow_up_rows(
        follow_ups.counts,
        units,
        (reply.unit.unit_id, reply.unit.name),
        [(c.unit_id, c.name) for c in sorted(reply.children, key=lambda c: natural_key(c.name))],
        counted,
        follow_up_period,
    )
    return render(
        request,
        "dashboard.html",
        {
            "units": units,
            "follow_ups": follow_up_table,
            "follow_up_period": follow_up_period,
            "scope": request.query_params.get("scope", ""),
            "errors": found.by_field,
            "error_summary": found.summary(),
            "period_from": request.query_params.get("from", ""),
            "period_to": request.query_params.get("to", ""),
            "page": page,
            "heat": heat,
            "tables": tables,
            "report": report,
            "chart_json": script_json(charts),
            "charts": charts,
            "has_trend": any(v is not None for v in charts["trend"]["values"]),
        },
        status=422 if found else 200,
    )


def _shown(cell: corr_pb.ScoreCell | None, field: str) -> float | None:
    """A chart gap for missing, suppressed or undefined values."""
    if cell is None or cell.suppressed or (field != "value" and not interval_known(cell)):
        return None
    value = float(getattr(cell, field))
    return round(value, 2)


async def heatmap_csv(request: Request) -> Response:
    """Every measure of the page's unit and its children, by period."""
    _, reply, construct = await _read(request)
    k = reply.min_group_size or state_of(request).config.settings.min_group_size
    rows = dashboard_rows(reply, k, construct, with_children=True)
    return csv_response(rows, f"heatmap-{reply.unit.unit_id or 'organisation'}.csv")


async def trends_csv(request: Request) -> Response:
    """The page's unit only, every measure by period."""
    _, reply, construct = await _read(request)
    k = reply.min_group_size or state_of(request).config.settings.min_group_size
    rows = dashboard_rows(reply, k, construct, with_children=False)
    return csv_response(rows, f"trends-{reply.unit.unit_id or 'organisation'}.csv")


routes = [
    Route("/dashboard", dashboard, methods=["GET"]),
    Route("/dashboard/heatmap.csv", heatmap_csv, methods=["GET"]),
    Route("/dashboard/trends.csv", trends_csv, methods=["GET"]),
]
