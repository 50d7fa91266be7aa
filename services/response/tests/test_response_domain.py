"""Pure rules: answer validation, text limits, import rows, recognition, redaction,
idempotency, settings."""

from __future__ import annotations

import pytest
from pulse.response.v1 import response_service_pb2 as pb
from pulse.types.v1 import types_pb2 as t
from pulse_common.config import ConfigError
from pulse_common.errors import InvalidArgument
from pulse_common.ratelimit import SlidingWindowLimiter
from pulse_response.answers import AnswerProblem, comment_problem, validate_answers
from pulse_response.domain import ValidatedAnswers, import_batch_id, import_response_id
from pulse_response.idempotency import PurgeSchedule, decode_replay, encode_receipt, key_hash
from pulse_response.import_rows import check_import_row
from pulse_response.redact import redact
from pulse_response.settings import ResponseSettings, load_response_settings
from pulse_response.submission import Receipt, idempotency_key_problem


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
    assert comment_problem("line one\nline\ttwo\r\n", 100) is None
    assert comment_problem("é漢字🙂", 4) is None
    assert comment_problem("é漢字🙂!", 4) is not None
    assert comment_problem("bad \ud800", 100) == "is not valid UTF-8"
    assert comment_problem("C1 \x85 control", 100) == "contains the control character U+0085"


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


def row_problem(
    definition: t.SurveyDefinition, granularity: str = "month", /, **fields: object
) -> tuple[str, str]:
    """(field, reason) of the first problem of an import row; ("", "") when it is valid."""
    values: dict[str, object] = {
        "line": 2,
        "unit_id": "store-1",
        "period": "2026-03" if granularity == "month" else "2026-W11",
        "kind": definition.kind,
        "answers": [score("csat.1", 5), score("staff.1", 4)],
    }
    if definition.kind == t.SURVEY_KIND_CUSTOMER_POST_INTERACTION:
        values.update(interaction_date="2026-03-12", channel="call")
    values.update(fields)
    settings = load_response_settings({"PULSE_PERIOD": granularity})
    try:
        check_import_row(pb.ImportRow(**values), definition, settings)  # type: ignore[arg-type]
    except InvalidArgument as problem:
        return problem.field, problem.description
    return "", ""


def row_field(definition: t.SurveyDefinition, **fields: object) -> str:
    return row_problem(definition, **fields)[0]


def test_import_rows_follow_the_deployments_period_and_the_shared_rules(
    customer_def: t.SurveyDefinition, employee_def: t.SurveyDefinition
) -> None:
    assert row_problem(customer_def) == ("", "")
    assert row_problem(customer_def, "week") == ("", "")
    # PULSE_PERIOD decides the granularity: the other kind is refused.
    assert row_problem(customer_def, period="2026-W11") == (
        "period",
        "must be a month like 2026-03, got '2026-W11'",
    )
    assert row_problem(customer_def, "week", period="2026-03")[0] == "period"
    assert row_field(customer_def, period="2026-13") == "period"
    assert row_problem(customer_def, period="2026-02") == (
        "period",
        "does not match the interaction date 2026-03-12",
    )
    assert row_problem(customer_def, "week", interaction_date="2026-03-16") == (
        "period",
        "does not match the interaction date 2026-03-16",
    )
    assert row_problem(customer_def, line=0) == ("line", "must be 1 or more")
    assert row_field(customer_def, unit_id="") == "unit_id"
    assert row_field(customer_def, unit_id="x" * 65) == "unit_id"
    assert row_field(customer_def, interaction_date="") == "interaction_date"
    assert row_field(customer_def, interaction_date="2026-02-30") == "interaction_date"
    assert row_field(customer_def, channel="") == "channel"
    assert row_field(customer_def, channel="Phone Call") == "channel"
    assert row_problem(customer_def, kind=t.SURVEY_KIND_EMPLOYEE_PULSE) == (
        "kind",
        "survey cust-survey is customer_post_interaction, the row says employee_pulse",
    )
    assert row_problem(customer_def, kind=99) == (
        "kind",
        "survey cust-survey is customer_post_interaction, the row says unspecified",
    )
    assert row_problem(customer_def, answers=[score("csat.1", 9)]) == (
        "csat.1",
        "must be between 1 and 5 for item 'csat.1', got 9",
    )
    employee = [score("rec.1", 4), score("enps.1", 9)]
    assert row_problem(employee_def, answers=employee) == ("", "")
    assert row_field(employee_def, answers=employee, channel="call") == "channel"
    assert row_field(employee_def, answers=employee, interaction_date="2026-03-01") == (
        "interaction_date"
    )


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
    b = import_response_id("s", 1, 3, b"row")
    batch = import_batch_id("s", 1, [a, b])
    assert batch == import_batch_id("s", 1, [b, a])  # the order rows arrive in does not count
    assert batch != import_batch_id("s", 1, [a])
    assert batch != import_batch_id("s", 2, [a, b])


def test_stored_replies_replay_the_receipt_and_keys_are_hashed() -> None:
    receipt = Receipt("r-1", "s-1", 3)
    key = "idem-key-0123456789"
    stored = encode_receipt(receipt, key)
    assert decode_replay(stored, key) == Receipt("r-1", "s-1", 3, replayed=True)
    assert b"r-1" not in stored  # sealed: the database cannot pair it with the response row
    assert key_hash("k" * 16) == key_hash("k" * 16)
    assert key_hash("k" * 16) != key_hash("k" * 17)
    assert b"k" * 16 not in key_hash("k" * 16)


def test_purge_is_due_at_first_then_once_per_period() -> None:
    schedule = PurgeSchedule(every_s=3600)
    assert schedule.due(100.0)
    assert not schedule.due(3699.0)
    assert schedule.due(3700.0)
    assert not schedule.due(3701.0)


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


def test_settings_from_env_name_the_variable() -> None:
    settings = load_response_settings({"PULSE_RESPONSE_MAX_ANSWERS": "20", "PULSE_PERIOD": "week"})
    assert isinstance(settings, ResponseSettings)
    assert settings.max_answers == 20
    assert settings.max_comment_chars == 2000
    assert settings.common.period == "week"
    with pytest.raises(ConfigError, match="PULSE_RESPONSE_SUBMITS_PER_MINUTE"):
        load_response_settings({"PULSE_RESPONSE_SUBMITS_PER_MINUTE": "lots"})
    assert settings.scope_cache_s == 30
    assert load_response_settings({"PULSE_RESPONSE_SCOPE_CACHE_S": "0"}).scope_cache_s == 0
    with pytest.raises(ConfigError, match="PULSE_RESPONSE_SCOPE_CACHE_S"):
        load_response_settings({"PULSE_RESPONSE_SCOPE_CACHE_S": "-1"})
    with pytest.raises(ConfigError, match="PULSE_PERIOD"):
        load_response_settings({"PULSE_PERIOD": "year"})
