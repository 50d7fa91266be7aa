"""gRPC edge of detractor follow-ups (a mixin of ``ResponseServicer``): ListFollowUps,
CloseFollowUp and CountFollowUps, within the caller's scope."""

from __future__ import annotations

import uuid
from typing import Any

import grpc.aio
from pulse.response.v1 import response_service_pb2 as pb
from pulse_common.auth import current_caller
from pulse_common.errors import InvalidArgument
from pulse_common.fields import require_name, require_text, require_unit_id, rfc3339
from pulse_common.periods import require_range

from pulse_response import follow_ups
from pulse_response.context import Deps
from pulse_response.detractors import FollowUp

Context = grpc.aio.ServicerContext[Any, Any]
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
MAX_OUTCOME_CHARS = 1000


def follow_up_message(f: FollowUp) -> pb.FollowUp:
    return pb.FollowUp(
        follow_up_id=str(f.follow_up_id),
        unit_id=f.unit_id,
        period=f.period,
        channel=f.channel,
        construct=f.construct,
        score=f.score,
        contact=f.contact,
        status=f.status,
        outcome=f.outcome,
        flagged_at=rfc3339(f.flagged_at),
        closed_at=rfc3339(f.closed_at) if f.closed_at else "",
    )


def _unit(value: str) -> str:
    return require_unit_id("unit_id", value) if value else ""


class FollowUpServicer:
    deps: Deps

    async def ListFollowUps(  # noqa: N802
        self, request: pb.ListFollowUpsRequest, context: Context
    ) -> pb.ListFollowUpsResponse:
        limit = request.limit or DEFAULT_LIMIT
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidArgument("limit", f"must be between 1 and {MAX_LIMIT}")
        query = follow_ups.FollowUpQuery(
            _unit(request.unit_id), current_caller().scope, request.include_closed, limit
        )
        found = await follow_ups.list_follow_ups(self.deps, query)
        return pb.ListFollowUpsResponse(follow_ups=[follow_up_message(f) for f in found])

    async def CloseFollowUp(  # noqa: N802
        self, request: pb.CloseFollowUpRequest, context: Context
    ) -> pb.CloseFollowUpResponse:
        try:
            follow_up_id = uuid.UUID(request.follow_up_id)
        except ValueError:
            raise InvalidArgument("follow_up_id", "must be a follow-up id (UUID)") from None
        outcome = require_text("outcome", require_name("outcome", request.outcome))
        if len(outcome) > MAX_OUTCOME_CHARS:
            raise InvalidArgument("outcome", f"at most {MAX_OUTCOME_CHARS} characters")
        closed = await follow_ups.close_follow_up(
            self.deps, follow_up_id, outcome, current_caller().scope
        )
        return pb.CloseFollowUpResponse(follow_up=follow_up_message(closed))

    async def CountFollowUps(  # noqa: N802
        self, request: pb.CountFollowUpsRequest, context: Context
    ) -> pb.CountFollowUpsResponse:
        period_from, period_to = request.period_from, request.period_to
        if period_from and period_to:
            first, last = require_range(
                "period_from", period_from, "period_to", period_to, self.deps.settings.common.period
            )
            period_from, period_to = first.label, last.label
        elif period_from or period_to:
            raise InvalidArgument("period_to" if period_from else "period_from", "give both ends")
        unit, scope = _unit(request.unit_id), current_caller().scope
        if request.by_unit:
            per_unit = await follow_ups.count_follow_ups_by_unit(
                self.deps, unit, scope, period_from, period_to
            )
            return pb.CountFollowUpsResponse(
                counts=[
                    pb.FollowUpCount(unit_id=u, period=p, flagged=f, closed=c)
                    for u, p, f, c in per_unit
                ]
            )
        found = await follow_ups.count_follow_ups(self.deps, unit, scope, period_from, period_to)
        return pb.CountFollowUpsResponse(
            counts=[pb.FollowUpCount(period=p, flagged=f, closed=c) for p, f, c in found]
        )
