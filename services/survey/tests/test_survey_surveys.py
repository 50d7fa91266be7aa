"""Item bank and survey versions: drafts, immutable published versions, the published event."""

from __future__ import annotations

import grpc
from pulse.events.v1 import events_pb2
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse.types.v1 import types_pb2 as t
from pulse_testing.survey import EMPLOYEE_ITEMS, Survey, field_of, read_events, rpc_error

EMPLOYEE = t.SURVEY_KIND_EMPLOYEE_PULSE


async def test_item_bank_lists_by_kind_and_versions_changed_wording(survey: Survey) -> None:
    customer = await survey.stub.ListItems(
        pb.ListItemsRequest(kind=t.SURVEY_KIND_CUSTOMER_POST_INTERACTION)
    )
    constructs = {i.construct for i in customer.items}
    assert {"csat", "nps", "ces", "staff_treatment", "comment"} <= constructs
    assert not any(c.startswith("treatment.") for c in constructs)
    reversed_items = await survey.stub.ListItems(
        pb.ListItemsRequest(construct="treatment.fairness")
    )
    assert any(i.reverse_scored for i in reversed_items.items)

    item = t.Item(
        item_id="rec.1",
        construct="treatment.recognition",
        text="New wording.",
        scale=t.SCALE_LIKERT_5,
    )
    created = await survey.stub.CreateItem(pb.CreateItemRequest(item=item))
    assert created.item.item_version == 2
    again = await survey.stub.CreateItem(pb.CreateItemRequest(item=item))
    assert again.item.item_version == 2  # identical repeat: no new version

    bad = t.Item(item_id="x.1", construct="nps", text="?", scale=t.SCALE_LIKERT_5)
    error = await rpc_error(survey.stub.CreateItem(pb.CreateItemRequest(item=bad)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_of(error) == "item.scale"


async def test_publish_freezes_a_version_and_announces_it(survey: Survey) -> None:
    stub = survey.stub
    draft = await stub.CreateSurvey(
        pb.CreateSurveyRequest(name="Q1", kind=EMPLOYEE, item_ids=EMPLOYEE_ITEMS)
    )
    sid = draft.survey.survey_id
    assert draft.survey.status == pb.SURVEY_STATUS_DRAFT
    assert (
        await rpc_error(stub.GetSurvey(pb.GetSurveyRequest(survey_id=sid)))
    ).code() == grpc.StatusCode.NOT_FOUND
    v1 = (await stub.PublishSurvey(pb.PublishSurveyRequest(survey_id=sid))).definition
    assert v1.version == 1
    assert v1.published_at
    assert [i.item_id for i in v1.items] == EMPLOYEE_ITEMS
    assert v1.min_group_size == 5
    assert v1.min_comment_group_size == 10
    error = await rpc_error(stub.PublishSurvey(pb.PublishSurveyRequest(survey_id=sid)))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION

    revision = await stub.CreateSurvey(
        pb.CreateSurveyRequest(
            name="Q1", kind=EMPLOYEE, item_ids=["rec.1", "enps.1"], survey_id=sid, min_group_size=7
        )
    )
    assert revision.survey.latest_version == 2
    latest = await stub.GetSurvey(pb.GetSurveyRequest(survey_id=sid))
    assert latest.definition.version == 1  # the draft is not what respondents see
    await stub.PublishSurvey(pb.PublishSurveyRequest(survey_id=sid))
    v2 = (await stub.GetSurvey(pb.GetSurveyRequest(survey_id=sid))).definition
    assert v2.version == 2
    assert len(v2.items) == 2
    assert v2.min_group_size == 7
    still_v1 = (await stub.GetSurvey(pb.GetSurveyRequest(survey_id=sid, version=1))).definition
    assert still_v1 == v1

    listed = await stub.ListSurveys(pb.ListSurveysRequest(kind=EMPLOYEE))
    assert [(s.survey_id, s.latest_version, s.status) for s in listed.surveys] == [
        (sid, 2, pb.SURVEY_STATUS_PUBLISHED)
    ]
    events = await read_events(
        survey.nats_url, "pulse.survey.published", events_pb2.SurveyPublished, 2
    )
    assert [e.survey.version for e in events] == [1, 2]
    assert events[0].survey == v1


async def test_invalid_surveys_are_refused_by_field(survey: Survey) -> None:
    cases = [
        (pb.CreateSurveyRequest(name="", kind=EMPLOYEE, item_ids=["rec.1"]), "name"),
        (pb.CreateSurveyRequest(name="x", item_ids=["rec.1"]), "kind"),
        (pb.CreateSurveyRequest(name="x", kind=EMPLOYEE), "item_ids"),
        (pb.CreateSurveyRequest(name="x", kind=EMPLOYEE, item_ids=["nope"]), "item_ids"),
        (pb.CreateSurveyRequest(name="x", kind=EMPLOYEE, item_ids=["csat.1"]), "item_ids"),
        (pb.CreateSurveyRequest(name="x", kind=EMPLOYEE, item_ids=["ecomment.1"]), "item_ids"),
        (
            pb.CreateSurveyRequest(name="x", kind=EMPLOYEE, item_ids=["rec.1"], min_group_size=3),
            "min_group_size",
        ),
        (
            pb.CreateSurveyRequest(
                name="x", kind=t.SURVEY_KIND_INTERNAL_SERVICE, item_ids=["csat.1"]
            ),
            "rated_unit_id",
        ),
        (
            pb.CreateSurveyRequest(name="x", kind=EMPLOYEE, item_ids=["rec.1"], survey_id="nope"),
            "survey_id",
        ),
    ]
    for request, field in cases:
        error = await rpc_error(survey.stub.CreateSurvey(request))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, request
        assert field_of(error) == field, request
    assert await survey.pool.fetchval("SELECT count(*) FROM survey.surveys") == 0
