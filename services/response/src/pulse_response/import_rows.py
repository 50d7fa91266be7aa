"""Pure validation of one historical-import row against its survey version."""

from __future__ import annotations

from pulse.response.v1 import response_service_pb2 as pb
from pulse.types.v1 import types_pb2
from pulse_common.errors import InvalidArgument
from pulse_common.fields import parse_date, require_channel, require_unit_id
from pulse_common.measures import is_customer, kind_name
from pulse_common.periods import Granularity, label_of, require_period

from pulse_response.answers import AnswerProblem, validate_answers
from pulse_response.domain import ValidatedAnswers
from pulse_response.settings import ResponseSettings


def check_import_row(
    row: pb.ImportRow,
    definition: types_pb2.SurveyDefinition,
    settings: ResponseSettings,
) -> ValidatedAnswers:
    """Raise ``InvalidArgument`` naming the column (an item id for a bad answer). Periods
    are of the deployment's granularity (``PULSE_PERIOD``) only."""
    granularity = settings.common.period
    if row.line < 1:
        raise InvalidArgument("line", "must be 1 or more")
    require_unit_id("unit_id", row.unit_id)
    require_period("period", row.period, granularity)
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
