"""Pure validation of one historical-import row against its survey version.

An import checks tens of thousands of rows against one survey version (issue 20), so the
lookups a row needs are computed once per (version, settings) (``_plan``): score ranges and
free-text items by id, the required ids, and the unit ids and periods already found
well-formed. A row the plan accepts gets exactly what ``validate_answers`` would give it;
anything the plan does not accept outright (a bad answer of any kind) goes through
``validate_answers`` itself, so every rejection keeps its precise reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pulse.response.v1 import response_service_pb2 as pb
from pulse.types.v1 import types_pb2
from pulse_common.errors import InvalidArgument
from pulse_common.fields import parse_date, require_channel, require_unit_id
from pulse_common.measures import SCALE_RANGES, is_customer, kind_name
from pulse_common.periods import Granularity, label_of, require_period

from pulse_response.answers import AnswerProblem, comment_problem, recognition_of, validate_answers
from pulse_response.domain import ValidatedAnswers
from pulse_response.settings import ResponseSettings

# Well-formed unit ids and periods remembered per plan (bounded: a plan lives across imports).
MAX_REMEMBERED = 10_000


@dataclass
class _Plan:
    """What checking a row against one survey version needs, looked up once."""

    definition: types_pb2.SurveyDefinition
    settings: ResponseSettings
    items: dict[str, types_pb2.Item]
    score_ranges: dict[str, tuple[int, int]]  # scored items with a usable scale
    text_items: frozenset[str]
    required: frozenset[str]
    good_units: set[str] = field(default_factory=set)
    good_periods: set[str] = field(default_factory=set)


_last: list[_Plan] = []  # the plan of the last version checked (holds it, so `is` is safe)


def _plan(definition: types_pb2.SurveyDefinition, settings: ResponseSettings) -> _Plan:
    if _last and _last[0].definition is definition and _last[0].settings is settings:
        return _last[0]
    items = {item.item_id: item for item in definition.items}
    plan = _Plan(
        definition=definition,
        settings=settings,
        items=items,
        score_ranges={
            item_id: SCALE_RANGES[item.scale]
            for item_id, item in items.items()
            if item.scale != types_pb2.SCALE_FREE_TEXT and item.scale in SCALE_RANGES
        },
        text_items=frozenset(
            item_id for item_id, item in items.items() if item.scale == types_pb2.SCALE_FREE_TEXT
        ),
        required=frozenset(item_id for item_id, item in items.items() if item.required),
    )
    _last[:] = [plan]
    return plan


def _answers_at_once(plan: _Plan, answers: Sequence[types_pb2.Answer]) -> ValidatedAnswers | None:
    """The validated answers when every answer is plainly good; None to let
    ``validate_answers`` decide (and name the problem)."""
    if len(answers) > plan.settings.max_answers:
        return None
    ranges, texts = plan.score_ranges, plan.text_items
    seen: set[str] = set()
    scores: list[tuple[str, int]] = []
    comments: list[tuple[str, str]] = []
    for answer in answers:
        item_id = answer.item_id
        if item_id in seen:
            return None
        bounds = ranges.get(item_id)
        if bounds is not None:
            score = answer.score
            if answer.WhichOneof("value") != "score" or not bounds[0] <= score <= bounds[1]:
                return None
            scores.append((item_id, score))
            seen.add(item_id)
        elif item_id in texts:
            text = answer.text
            if answer.WhichOneof("value") != "text":
                return None
            if comment_problem(text, plan.settings.max_comment_chars) is not None:
                return None
            stripped = text.strip()
            if stripped:  # blank: as if not answered
                comments.append((item_id, stripped))
                seen.add(item_id)
        else:
            return None
    if not plan.required <= seen:
        return None
    positive, staff = recognition_of(scores, plan.items)
    return ValidatedAnswers(scores, comments, positive, staff)


def check_import_row(
    row: pb.ImportRow,
    definition: types_pb2.SurveyDefinition,
    settings: ResponseSettings,
) -> ValidatedAnswers:
    """Raise ``InvalidArgument`` naming the column (an item id for a bad answer). Periods
    are of the deployment's granularity (``PULSE_PERIOD``) only."""
    granularity = settings.common.period
    plan = _plan(definition, settings)
    if row.line < 1:
        raise InvalidArgument("line", "must be 1 or more")
    unit_id, period = row.unit_id, row.period
    if unit_id not in plan.good_units:
        require_unit_id("unit_id", unit_id)
        if len(plan.good_units) < MAX_REMEMBERED:
            plan.good_units.add(unit_id)
    if period not in plan.good_periods:
        require_period("period", period, granularity)
        if len(plan.good_periods) < MAX_REMEMBERED:
            plan.good_periods.add(period)
    if row.kind != definition.kind:
        raise InvalidArgument(
            "kind",
            f"survey {definition.survey_id} is {kind_name(definition.kind)}, "
            f"the row says {kind_name(row.kind)}",
        )
    if is_customer(definition.kind):
        _check_customer_row(row, granularity)
    else:
        # Employee rows keep no exact date and no channel (DESIGN §3).
        if row.interaction_date:
            raise InvalidArgument(
                "interaction_date", "only customer rows carry an interaction date"
            )
        if row.channel:
            raise InvalidArgument("channel", "only customer rows carry a channel")
    at_once = _answers_at_once(plan, row.answers)
    if at_once is not None:
        return at_once
    try:
        return validate_answers(
            row.answers,
            definition,
            max_answers=settings.max_answers,
            max_comment_chars=settings.max_comment_chars,
        )
    except AnswerProblem as error:
        raise InvalidArgument(error.item_id or "answers", error.reason) from None


def _check_customer_row(row: pb.ImportRow, granularity: Granularity) -> None:
    """A customer row needs the interaction's date (inside the row's period) and channel."""
    if not row.interaction_date:
        raise InvalidArgument(
            "interaction_date", "customer rows need an interaction date like 2026-03-14"
        )
    day = parse_date("interaction_date", row.interaction_date)
    if label_of(day, granularity) != row.period:
        raise InvalidArgument("period", f"does not match the interaction date {day.isoformat()}")
    if not row.channel:
        raise InvalidArgument("channel", "customer rows need a channel like call, chat or ticket")
    require_channel("channel", row.channel)
