"""The import's precomputed row check (``import_rows``, issue 20) gives every row exactly what
``validate_answers`` gives it: the same answers when it is good, the same field and reason
when it is not. Random answer sets, good and bad, against both survey kinds."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulse.response.v1 import response_service_pb2 as pb
from pulse.types.v1 import types_pb2 as t
from pulse_common.errors import InvalidArgument
from pulse_response.answers import AnswerProblem, validate_answers
from pulse_response.domain import ValidatedAnswers
from pulse_response.import_rows import check_import_row
from pulse_response.settings import load_response_settings

SETTINGS = load_response_settings({"PULSE_RESPONSE_MAX_ANSWERS": "6"})
ITEM_IDS = ["rec.1", "rec.2", "fair.1", "enps.1", "ecomment.1"]
ITEM_IDS += ["csat.1", "staff.1", "staff.2", "nps.1", "ces.1", "ccomment.1", "", "nope"]
TEXTS = ["", "  ", "fine", " more coffee ", "tab\there", "bell\x07", "x" * 3000]

answers = st.lists(
    st.builds(
        lambda item_id, value: (
            t.Answer(item_id=item_id, text=value)
            if isinstance(value, str)
            else t.Answer(item_id=item_id, score=value)
        ),
        st.sampled_from(ITEM_IDS),
        st.one_of(st.integers(-1, 12), st.sampled_from(TEXTS)),
    ),
    max_size=8,
)


def reference(row: pb.ImportRow, definition: t.SurveyDefinition) -> ValidatedAnswers | str:
    try:
        return validate_answers(
            row.answers,
            definition,
            max_answers=SETTINGS.max_answers,
            max_comment_chars=SETTINGS.max_comment_chars,
        )
    except AnswerProblem as error:
        return f"{error.item_id or 'answers'}: {error.reason}"


def checked(row: pb.ImportRow, definition: t.SurveyDefinition) -> ValidatedAnswers | str:
    try:
        return check_import_row(row, definition, SETTINGS)
    except InvalidArgument as problem:
        return f"{problem.field}: {problem.description}"


@pytest.mark.parametrize("kind", ["employee", "customer"])
@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(given_answers=answers)
def test_precomputed_check_matches_validate_answers(
    kind: str,
    employee_def: t.SurveyDefinition,
    customer_def: t.SurveyDefinition,
    given_answers: list[t.Answer],
) -> None:
    definition = employee_def if kind == "employee" else customer_def
    customer = definition.kind == t.SURVEY_KIND_CUSTOMER_POST_INTERACTION
    row = pb.ImportRow(
        line=2,
        unit_id="store-1",
        period="2026-03",
        kind=definition.kind,
        answers=given_answers,
        interaction_date="2026-03-12" if customer else "",
        channel="call" if customer else "",
    )
    assert checked(row, definition) == reference(row, definition)


def test_versions_alternating_use_their_own_items(employee_def: t.SurveyDefinition) -> None:
    """The remembered lookups belong to one version: another version's rows are checked
    against that version's items."""
    good_employee = pb.ImportRow(
        line=2,
        unit_id="u1",
        period="2026-03",
        kind=t.SURVEY_KIND_EMPLOYEE_PULSE,
        answers=[t.Answer(item_id="rec.1", score=4), t.Answer(item_id="enps.1", score=9)],
    )
    other = t.SurveyDefinition()
    other.CopyFrom(employee_def)
    other.version = 2
    del other.items[3]  # version 2 no longer asks enps.1
    assert check_import_row(good_employee, employee_def, SETTINGS).scores == [
        ("rec.1", 4),
        ("enps.1", 9),
    ]
    with pytest.raises(InvalidArgument) as refused:
        check_import_row(good_employee, other, SETTINGS)
    assert refused.value.field == "enps.1"
    assert "unknown item" in refused.value.description
    assert check_import_row(good_employee, employee_def, SETTINGS).scores


def test_malformed_unit_and_period_are_refused_every_time(
    employee_def: t.SurveyDefinition,
) -> None:
    """Only well-formed unit ids and periods are remembered."""
    for _ in range(2):
        row = pb.ImportRow(
            line=2, unit_id="bad unit!", period="2026-03", kind=t.SURVEY_KIND_EMPLOYEE_PULSE
        )
        with pytest.raises(InvalidArgument) as refused:
            check_import_row(row, employee_def, SETTINGS)
        assert refused.value.field == "unit_id"
        row = pb.ImportRow(
            line=2, unit_id="u1", period="2026-13", kind=t.SURVEY_KIND_EMPLOYEE_PULSE
        )
        with pytest.raises(InvalidArgument) as refused:
            check_import_row(row, employee_def, SETTINGS)
        assert refused.value.field == "period"
