"""Comments for leaders: one team's free texts of one survey, newest period first, each
period released by the response service only for groups at or above the comment threshold
(and redacted there); a group below it says so in words. Also as CSV."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date

from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse_common.fields import require_id
from pulse_common.periods import parse_period, periods_back, periods_between
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pulse_web.exports import csv_response
from pulse_web.filters import optional_period, optional_unit_id
from pulse_web.leader_page import render, units_for
from pulse_web.org import UnitInfo
from pulse_web.session import current_account
from pulse_web.state import state_of

PERIODS_SHOWN = 3


@dataclass
class PeriodComments:
    period: str
    texts: list[str] = field(default_factory=list)
    withheld: str = ""  # why nothing is shown, in words


@dataclass
class CommentsView:
    unit: UnitInfo | None
    survey_id: str
    survey_name: str
    surveys: list[survey_pb.SurveySummary]
    periods: list[PeriodComments]
    units: list[UnitInfo]


def teams_first(units: list[UnitInfo]) -> list[UnitInfo]:
    """Units without children (where comments are collected) first, then the rest."""
    parents = {u.parent_id for u in units}
    return [u for u in units if u.unit_id not in parents] + [
        u for u in units if u.unit_id in parents
    ]


async def _load(request: Request) -> CommentsView:
    account = current_account(request)
    state = state_of(request)
    params = request.query_params
    granularity = state.config.settings.period
    unit_id = optional_unit_id("unit", params.get("unit"))
    last = optional_period("period", params.get("period"), granularity)
    survey_id = (params.get("survey") or "").strip()
    if survey_id:
        require_id("survey", survey_id)
    units = teams_first(await units_for(request, account, unit_id))
    api = state.api()
    listing = await api.call(api.survey.ListSurveys, survey_pb.ListSurveysRequest())
    surveys = [s for s in listing.surveys if s.latest_version > 0]
    survey = next((s for s in surveys if s.survey_id == survey_id), surveys[0] if surveys else None)
    unit = next((u for u in units if u.unit_id == unit_id), units[0] if units else None)
    end = last or periods_back(date.today(), granularity, 1)[1]
    start = parse_period(end, granularity).shift(-(PERIODS_SHOWN - 1)).label
    window = periods_between(start, end)
    periods = [PeriodComments(p) for p in reversed(window)]
    if unit is not None and survey is not None:
        replies = await asyncio.gather(
            *(
                api.call(
                    api.response.ListComments,
                    resp_pb.ListCommentsRequest(
                        unit_id=unit.unit_id,
                        period=group.period,
                        survey_id=survey.survey_id,
                    ),
                )
                for group in periods
            )
        )
        for group, reply in zip(periods, replies, strict=True):
            group.texts = [c.text for c in reply.comments]
            group.withheld = f"Not shown: {reply.suppression_reason}." if reply.suppressed else ""
    return CommentsView(
        unit,
        survey.survey_id if survey else "",
        survey.name if survey else "",
        surveys,
        periods,
        units,
    )


async def comments_page(request: Request) -> Response:
    view = await _load(request)
    return render(request, "comments.html", {"view": view})


async def comments_csv(request: Request) -> Response:
    view = await _load(request)
    unit_name = view.unit.name if view.unit else ""
    unit_id = view.unit.unit_id if view.unit else ""
    rows = [["Period", "Unit", "Unit id", "Survey", "Comment", "Shown"]]
    for group in view.periods:
        if group.withheld:
            rows.append([group.period, unit_name, unit_id, view.survey_name, "", group.withheld])
        rows += [
            [group.period, unit_name, unit_id, view.survey_name, text, "yes"]
            for text in group.texts
        ]
    return csv_response(rows, f"comments-{unit_id or 'none'}.csv")


routes = [
    Route("/comments", comments_page, methods=["GET"]),
    Route("/comments.csv", comments_csv, methods=["GET"]),
]
