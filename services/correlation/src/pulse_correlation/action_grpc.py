"""gRPC edge of actions (a mixin of ``CorrelationServicer``): AddAction, ListActions and
GetAction. Checks every field (naming it) and translates records to protobuf.

The caller's scope (from its verified token) bounds every unit: outside it is
PERMISSION_DENIED, and lists hold only units inside it."""

from __future__ import annotations

import math
import uuid
from typing import Any

import grpc
from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse_common.auth import current_caller
from pulse_common.errors import InvalidArgument
from pulse_common.fields import parse_date, require_name, require_text
from pulse_common.measures import (
    CUSTOMER_OUTCOMES,
    OUTCOMES,
    PREDICTORS,
    close_matches,
)

from pulse_correlation import actions, validation
from pulse_correlation.action_effect import effect_words
from pulse_correlation.action_model import DEFAULT_WINDOW, MAX_WINDOW, ActionRecord
from pulse_correlation.context import Deps
from pulse_correlation.values import as_sent

Context = grpc.aio.ServicerContext[Any, Any]
MEASURES = (*PREDICTORS, *OUTCOMES)
MAX_TITLE = 200
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def _scope() -> str:
    return current_caller().scope


def action_message(a: ActionRecord) -> pb.Action:
    return pb.Action(
        action_id=a.action_id,
        unit_id=a.unit_id,
        measure=a.measure,
        title=a.title,
        owner=a.owner,
        start_date=a.start_date.isoformat(),
        created_at=a.created_at.isoformat(timespec="seconds"),
        outcome=a.outcome,
    )


def _choice(field: str, value: str, choices: tuple[str, ...], default: str = "") -> str:
    value = value.strip() or default
    if not value:
        raise InvalidArgument(field, "is required")
    if value not in choices:
        raise InvalidArgument(field, close_matches(value, choices))
    return value


def _title(value: str) -> str:
    title = require_text("title", require_name("title", value))
    if len(title) > MAX_TITLE:
        raise InvalidArgument("title", f"at most {MAX_TITLE} characters")
    return title


def comparison_message(c: actions.Comparison, level: float) -> pb.ActionComparison:
    e = c.effect
    return pb.ActionComparison(
        measure=c.measure,
        when=c.when,
        acted_before=as_sent(c.acted.before) if c.acted else 0.0,
        acted_after=as_sent(c.acted.after) if c.acted else 0.0,
        acted_change=as_sent(e.acted_change),
        comparison_change=as_sent(e.comparison_change),
        comparison_units=e.comparison_units,
        estimate=as_sent(e.estimate),
        ci_low=as_sent(e.ci_low),
        ci_high=as_sent(e.ci_high),
        method=e.method,
        computed=math.isfinite(e.estimate),
        text=effect_words(e, c.measure + (f" ({c.when} period)" if c.when else ""), level),
    )


class ActionServicer:
    deps: Deps

    async def AddAction(  # noqa: N802
        self, request: pb.AddActionRequest, context: Context
    ) -> pb.AddActionResponse:
        new = actions.NewAction(
            unit_id=validation.unit("unit_id", request.unit_id),
            measure=_choice("measure", request.measure, MEASURES),
            title=_title(request.title),
            owner=require_text("owner", require_name("owner", request.owner)),
            start_date=parse_date("start_date", request.start_date, self.deps.today()),
            outcome=_choice("outcome", request.outcome, CUSTOMER_OUTCOMES, "csat"),
        )
        return pb.AddActionResponse(
            action=action_message(await actions.add_action(self.deps, new, _scope()))
        )

    async def ListActions(  # noqa: N802
        self, request: pb.ListActionsRequest, context: Context
    ) -> pb.ListActionsResponse:
        unit_id = validation.optional_unit("unit_id", request.unit_id)
        limit = request.limit or DEFAULT_LIMIT
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidArgument("limit", f"must be between 1 and {MAX_LIMIT}")
        found = await actions.list_actions(self.deps, unit_id, limit, _scope())
        return pb.ListActionsResponse(actions=[action_message(a) for a in found])

    async def GetAction(  # noqa: N802
        self, request: pb.GetActionRequest, context: Context
    ) -> pb.GetActionResponse:
        try:
            action_id = uuid.UUID(request.action_id)
        except ValueError:
            raise InvalidArgument("action_id", "must be an action id (UUID)") from None
        window = request.window or DEFAULT_WINDOW
        if not 1 <= window <= MAX_WINDOW:
            raise InvalidArgument("window", f"must be between 1 and {MAX_WINDOW}")
        level = request.confidence_level or validation.DEFAULT_CONFIDENCE
        if not 0.5 <= level < 1.0:
            raise InvalidArgument("confidence_level", "must be in [0.5, 1)")
        view = await actions.action_view(self.deps, action_id, window, level, _scope())
        return pb.GetActionResponse(
            action=action_message(view.action),
            start_period=view.start_period,
            measure_points=[pb.ActionPoint(period=p, value=v, n=n) for p, v, n in view.points],
            comparisons=[comparison_message(c, level) for c in view.comparisons],
            min_group_size=view.k,
        )
