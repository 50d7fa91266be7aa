"""Shared fixtures of the response service tests: small survey definitions shaped like the
survey service's item bank."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pulse.types.v1 import types_pb2 as t
from pulse_testing.response import Harness, running_harness


def _item(item_id: str, construct: str, scale: int, required: bool = False) -> t.Item:
    return t.Item(
        item_id=item_id,
        construct=construct,
        text=f"text of {item_id}",
        language="en",
        scale=scale,  # type: ignore[arg-type]
        required=required,
        item_version=1,
    )


def employee_definition(survey_id: str = "emp-survey", version: int = 1) -> t.SurveyDefinition:
    return t.SurveyDefinition(
        survey_id=survey_id,
        version=version,
        name="Team pulse",
        kind=t.SURVEY_KIND_EMPLOYEE_PULSE,
        items=[
            _item("rec.1", "treatment.recognition", t.SCALE_LIKERT_5, required=True),
            _item("rec.2", "treatment.recognition", t.SCALE_LIKERT_5),
            _item("fair.1", "treatment.fairness", t.SCALE_LIKERT_7),
            _item("enps.1", "enps", t.SCALE_NPS_0_10, required=True),
            _item("ecomment.1", "comment", t.SCALE_FREE_TEXT),
        ],
        min_group_size=5,
        min_comment_group_size=10,
        language="en",
        published_at="2026-03-01T00:00:00Z",
    )


def customer_definition(survey_id: str = "cust-survey", version: int = 1) -> t.SurveyDefinition:
    return t.SurveyDefinition(
        survey_id=survey_id,
        version=version,
        name="After your visit",
        kind=t.SURVEY_KIND_CUSTOMER_POST_INTERACTION,
        items=[
            _item("csat.1", "csat", t.SCALE_CSAT_1_5, required=True),
            _item("staff.1", "staff_treatment", t.SCALE_LIKERT_5, required=True),
            _item("staff.2", "staff_treatment", t.SCALE_LIKERT_5),
            _item("nps.1", "nps", t.SCALE_NPS_0_10),
            _item("ces.1", "ces", t.SCALE_CES_1_7),
            _item("ccomment.1", "comment", t.SCALE_FREE_TEXT),
        ],
        min_group_size=5,
        min_comment_group_size=10,
        language="en",
        published_at="2026-03-01T00:00:00Z",
    )


@pytest.fixture
def employee_def() -> t.SurveyDefinition:
    return employee_definition()


@pytest.fixture
def customer_def() -> t.SurveyDefinition:
    return customer_definition()


@pytest.fixture
async def harness(database_url: str, nats_url: str) -> AsyncIterator[Harness]:
    async with running_harness(database_url, nats_url) as h:
        yield h
