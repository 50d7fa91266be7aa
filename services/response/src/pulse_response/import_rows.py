"""Pure validation of one historical-import row against its survey version."""

from __future__ import annotations

from datetime import date

from pulse.response.v1 import response_service_pb2 as pb
from pulse.types.v1 import types_pb2
from pulse_common.config import PeriodGranularity

from pulse_response.domain import (
    CHANNEL,
    UNIT_ID,
    AnswerProblem,
    ValidatedAnswers,
    is_customer,
    period_of,
    period_problem,
    validate_answers,
)
from pulse_response.limits import Limits


class RowProblem(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def check_import_row(
    row: pb.ImportRow,
    definition: types_pb2.SurveyDefinition,
    granularity: PeriodGranularity,
    limits: Limits,
) -> ValidatedAnswers:
    """Raise ``RowProblem`` naming the column (an item id for a bad answer)."""
    if row.line < 1:
        raise RowProblem("line", "must be 1 or more")
    if not UNIT_ID.match(row.unit_id):
        raise RowProblem("unit_id", "must be 1-64 characters of letters, digits, _ . -")
    problem = period_problem(row.period, granularity)
    if problem is not None:
        raise RowProblem("period", problem)
    if row.kind != definition.kind:
        raise RowProblem(
            "kind",
            f"survey {definition.survey_id} is {types_pb2.SurveyKind.Name(definition.kind)}, "
            f"the row says {types_pb2.SurveyKind.Name(row.kind)}",
        )
    if is_customer(definition.kind):
        try:
            day = date.fromisoformat(row.interaction_date)
        except ValueError:
            raise RowProblem(
                "interaction_date", "customer rows need an ISO date like 2026-03-14"
            ) from None
        if period_of(day, granularity) != row.period:
            raise RowProblem(
                "period", f"does not match the interaction date {row.interaction_date}"
            )
        if not CHANNEL.match(row.channel):
            raise RowProblem("channel", "customer rows need a channel like call, chat or ticket")
    else:
        # Employee rows keep no exact date and no channel (DESIGN §3).
        if row.interaction_date:
            raise RowProblem("interaction_date", "only customer rows carry an interaction date")
        if row.channel:
            raise RowProblem("channel", "only customer rows carry a channel")
    try:
        return validate_answers(
            row.answers,
            definition,
            max_answers=limits.max_answers,
            max_comment_chars=limits.max_comment_chars,
        )
    except AnswerProblem as error:
        raise RowProblem(error.item_id or "answers", error.reason) from None
