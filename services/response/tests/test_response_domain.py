"""Pure rules: answer validation, text limits, periods, recognition, redaction, limits."""

from __future__ import annotations

from datetime import date

import pytest
from pulse.types.v1 import types_pb2 as t
from pulse_common.config import ConfigError
from pulse_response.domain import (
    AnswerProblem,
    ValidatedAnswers,
    idempotency_key_problem,
    import_response_id,
    period_of,
    period_problem,
    text_problem,
    validate_answers,
)
from pulse_response.limits import load_limits
from pulse_response.rate_limit import SlidingWindowLimiter
from pulse_response.redact import redact


def score(item_id: str, value: int) -> t.Answer:
    return t.Answer(item_id=item_id, score=value)


def text(item_id: str, value: str) -> t.Answer:
    return t.Answer(item_id=item_id, text=value)


def check(
    answers: list[t.Answer], definition: t.SurveyDefinition, asked: tuple[str, ...] = ()
) -> ValidatedAnswers:
    return validate_answers(
        answers, definition, asked_item_ids=asked, max_answers=10, max_comment_chars=50
    )


def test_valid_employee_answers_split_scores_and_comments(
    employee_def: t.SurveyDefinition,
) -> None:
    result = check(
        [score("rec.1", 4), score("enps.1", 0), text("ecomment.1", "  more coffee  ")],
        employee_def,
    )
    assert result.scores == [("rec.1", 4), ("enps.1", 0)]
    assert result.comments == [("ecomment.1", "more coffee")]
    assert not result.positive


@pytest.mark.parametrize(
    ("answers", "field", "fragment"),
    [
        ([score("nope", 3), score("enps.1", 5)], "answers[0].item_id", "unknown item"),
        ([score("rec.1", 6), score("enps.1", 5)], "answers[0].score", "between 1 and 5"),
        ([score("rec.1", 0), score("enps.1", 5)], "answers[0].score", "between 1 and 5"),
        ([score("rec.1", 3), score("enps.1", 11)], "answers[1].score", "between 0 and 10"),
        ([score("rec.1", 3), score("rec.1", 4), score("enps.1", 1)], "answers[1].item_id", "twice"),
        ([score("rec.1", 3)], "answers", "required item 'enps.1'"),
        ([text("rec.1", "great"), score("enps.1", 1)], "answers[0].score", "takes a score"),
        (
            [score("rec.1", 3), score("enps.1", 1), score("ecomment.1", 3)],
            "answers[2].text",
            "takes text",
        ),
        (
            [score("rec.1", 3), score("enps.1", 1), text("ecomment.1", "x" * 51)],
            "answers[2].text",
            "limit is 50",
        ),
        (
            [score("rec.1", 3), score("enps.1", 1), text("ecomment.1", "a\x00b")],
            "answers[2].text",
            "U+0000",
        ),
        (
            [score("rec.1", 3), score("enps.1", 1), text("ecomment.1", "a\x1bb")],
            "answers[2].text",
            "U+001B",
        ),
        ([t.Answer(item_id="rec.1"), score("enps.1", 1)], "answers[0].score", "takes a score"),
        ([score("", 1)], "answers[0].item_id", "required"),
        ([score("rec.1", 1)] * 11, "answers", "at most 10"),
    ],
)
def test_bad_answers_name_the_field(
    employee_def: t.SurveyDefinition, answers: list[t.Answer], field: str, fragment: str
) -> None:
    with pytest.raises(AnswerProblem) as caught:
        check(answers, employee_def)
    assert caught.value.field_path() == field
    assert fragment in caught.value.reason


def test_rotation_subset_limits_items_and_required(employee_def: t.SurveyDefinition) -> None:
    # enps.1 is required but not asked of this person: it is not required of them.
    result = check([score("rec.1", 2), score("rec.2", 3)], employee_def, ("rec.1", "rec.2"))
    assert result.scores == [("rec.1", 2), ("rec.2", 3)]
    with pytest.raises(AnswerProblem) as caught:
        check([score("rec.1", 2), score("fair.1", 3)], employee_def, ("rec.1", "rec.2"))
    assert caught.value.field_path() == "answers[1].item_id"
    assert "not asked" in caught.value.reason


def test_blank_comment_counts_as_unanswered(employee_def: t.SurveyDefinition) -> None:
    result = check(
        [score("rec.1", 2), score("enps.1", 3), text("ecomment.1", "  \n")], employee_def
    )
    assert result.comments == []


def test_newlines_and_tabs_are_allowed_in_text() -> None:
    assert text_problem("line one\nline\ttwo\r\n", 100) is None
    assert text_problem("é漢字🙂", 4) is None
    assert text_problem("é漢字🙂!", 4) is not None
    assert text_problem("bad \ud800", 100) == "is not valid UTF-8"


@pytest.mark.parametrize(
    ("csat", "staff", "positive", "staff_score"),
    [(5, 4, True, 4), (4, 5, True, 5), (3, 5, False, 5), (5, 2, False, 2)],
)
def test_recognition_needs_top_two_box(
    customer_def: t.SurveyDefinition, csat: int, staff: int, positive: bool, staff_score: int
) -> None:
    result = check([score("csat.1", csat), score("staff.1", staff)], customer_def)
    assert result.positive is positive
    assert result.staff_treatment_score == staff_score


def test_periods() -> None:
    assert period_problem("2026-03", "month") is None
    assert period_problem("2026-13", "month") is not None
    assert period_problem("2026-W11", "month") is not None
    assert period_problem("2026-W11", "week") is None
    assert period_problem("2025-W53", "week") is not None
    assert period_problem("2020-W53", "week") is None
    assert period_of(date(2026, 3, 14), "month") == "2026-03"
    assert period_of(date(2021, 1, 3), "week") == "2020-W53"


def test_idempotency_key_rules() -> None:
    assert idempotency_key_problem("k" * 16) is None
    assert idempotency_key_problem("k" * 15) is not None
    assert idempotency_key_problem("k" * 129) is not None
    assert idempotency_key_problem("k" * 15 + "\n") is not None


def test_import_ids_are_deterministic_per_line_and_content() -> None:
    a = import_response_id("s", 1, 2, b"row")
    assert a == import_response_id("s", 1, 2, b"row")
    assert a != import_response_id("s", 1, 3, b"row")
    assert a != import_response_id("s", 1, 2, b"row2")
    assert a != import_response_id("s", 2, 2, b"row")


def test_redaction_strips_contact_details() -> None:
    redacted = redact(
        "Anna (anna.k@example.com, +44 20 7946 0958) helped; see https://x.io/a?b=1. "
        "Paid 120 in 2026."
    )
    assert "example.com" not in redacted
    assert "7946" not in redacted
    assert "x.io" not in redacted
    assert "Paid 120 in 2026." in redacted
    assert redact("call 555-123-4567 now") == "call [phone removed] now"


def test_sliding_window_limiter() -> None:
    now = [0.0]
    limiter = SlidingWindowLimiter(2, window_s=60, clock=lambda: now[0])
    assert limiter.allow("a")
    assert limiter.allow("a")
    assert not limiter.allow("a")
    assert limiter.allow("b")
    now[0] = 60.5
    assert limiter.allow("a")


def test_limits_from_env_name_the_variable() -> None:
    limits = load_limits({"PULSE_RESPONSE_MAX_ANSWERS": "20"})
    assert limits.max_answers == 20
    assert limits.max_comment_chars == 2000
    with pytest.raises(ConfigError, match="PULSE_RESPONSE_SUBMITS_PER_MINUTE"):
        load_limits({"PULSE_RESPONSE_SUBMITS_PER_MINUTE": "lots"})
    assert limits.scope_cache_s == 30
    assert load_limits({"PULSE_RESPONSE_SCOPE_CACHE_S": "0"}).scope_cache_s == 0
    with pytest.raises(ConfigError, match="PULSE_RESPONSE_SCOPE_CACHE_S"):
        load_limits({"PULSE_RESPONSE_SCOPE_CACHE_S": "-1"})
