"""Detractor follow-up through gRPC against the real survey service: a bottom-box customer
answer with contact consent raises exactly one follow-up for the team (and one
``pulse.detractor.flagged`` event, whatever the retries); without consent, or with a good
answer, nothing; the team lists its open follow-ups, closes one with its outcome, and the
counts per period say so."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
from pulse.events.v1 import events_pb2
from pulse.response.v1 import response_service_pb2 as pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2 as t
from pulse_response.detractors import bottom_box
from pulse_testing import survey as survey_kit
from pulse_testing.response import (
    Harness,
    field_of,
    invitation_tokens,
    outbox_drained,
    rpc_error,
    stream_messages,
)

from services.response.tests.conftest import customer_definition

CUSTOMER_ITEMS = ["csat.1", "nps.1", "ccomment.1"]


async def customer_tokens(h: Harness, count: int) -> list[str]:
    await survey_kit.make_org(h.survey)
    await survey_kit.published_survey(
        h.survey, t.SURVEY_KIND_CUSTOMER_POST_INTERACTION, CUSTOMER_ITEMS
    )
    for i in range(count):
        await h.survey.RecordInteraction(
            survey_pb.RecordInteractionRequest(
                interaction=survey_pb.Interaction(
                    interaction_id=f"i{i}",
                    unit_id="n1",
                    occurred_at=(datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                    channel="call",
                    customer_key=f"customer-{i}",
                    customer_contact=f"c{i}@example.test",
                )
            )
        )
    return await invitation_tokens(h.nats_url, count)


def answers(csat: int, nps: int) -> list[t.Answer]:
    return [t.Answer(item_id="csat.1", score=csat), t.Answer(item_id="nps.1", score=nps)]


async def test_a_bottom_box_answer_with_consent_makes_exactly_one_follow_up(
    database_url: str, nats_url: str
) -> None:
    from pulse_testing.response import running_harness

    async with running_harness(
        database_url, nats_url, PULSE_CUSTOMER_SAMPLE_RATE="1", PULSE_CONTACT_BUDGET_DAYS="0"
    ) as h:
        unhappy, no_consent, happy = await customer_tokens(h, 3)
        key = uuid.uuid4().hex
        request = pb.SubmitRequest(
            token=unhappy,
            answers=answers(csat=1, nps=3),
            idempotency_key=key,
            contact_consent=True,
            contact="+41 44 555 01 01",
        )
        first = await h.response.Submit(request)
        again = await h.response.Submit(request)  # a retry: the same reply, nothing new
        assert again.replayed
        assert again.response_id == first.response_id
        await h.response.Submit(
            pb.SubmitRequest(
                token=no_consent,
                answers=answers(csat=1, nps=0),
                idempotency_key=uuid.uuid4().hex,
                contact="ignored@example.test",  # no consent: never stored
            )
        )
        await h.response.Submit(
            pb.SubmitRequest(
                token=happy,
                answers=answers(csat=5, nps=10),
                idempotency_key=uuid.uuid4().hex,
                contact_consent=True,
                contact="happy@example.test",
            )
        )
        listed = (await h.response.ListFollowUps(pb.ListFollowUpsRequest(unit_id="n1"))).follow_ups
        assert len(listed) == 1
        (follow_up,) = listed
        assert (follow_up.unit_id, follow_up.construct, follow_up.score) == ("n1", "csat", 1)
        assert follow_up.contact == "+41 44 555 01 01"
        assert follow_up.channel == "call"
        assert follow_up.status == "open"
        stored = await h.pool.fetchval("SELECT string_agg(f::text, ' ') FROM follow_ups f")
        assert "ignored@example.test" not in stored
        assert first.response_id not in stored  # no path from the follow-up to the response

        await outbox_drained(h.pool)
        events = await stream_messages(h.nats_url, "pulse.detractor.flagged", 1)
        assert len(events) == 1
        flagged = events_pb2.DetractorFlagged()
        flagged.ParseFromString(events[0][1])
        assert (flagged.follow_up_id, flagged.unit_id) == (follow_up.follow_up_id, "n1")

        closed = await h.response.CloseFollowUp(
            pb.CloseFollowUpRequest(
                follow_up_id=follow_up.follow_up_id, outcome="Called back; replacement sent"
            )
        )
        assert closed.follow_up.status == "closed"
        assert closed.follow_up.outcome == "Called back; replacement sent"
        still_open = await h.response.ListFollowUps(pb.ListFollowUpsRequest(unit_id="n1"))
        assert list(still_open.follow_ups) == []
        every = await h.response.ListFollowUps(
            pb.ListFollowUpsRequest(unit_id="n1", include_closed=True)
        )
        assert [f.status for f in every.follow_ups] == ["closed"]
        twice = await rpc_error(
            h.response.CloseFollowUp(
                pb.CloseFollowUpRequest(follow_up_id=follow_up.follow_up_id, outcome="again")
            )
        )
        assert twice.code() == grpc.StatusCode.FAILED_PRECONDITION
        counts = await h.response.CountFollowUps(pb.CountFollowUpsRequest())
        assert [(c.period, c.flagged, c.closed) for c in counts.counts] == [
            (follow_up.period, 1, 1)
        ]
        per_unit = await h.response.CountFollowUps(pb.CountFollowUpsRequest(by_unit=True))
        assert [(c.unit_id, c.period, c.flagged, c.closed) for c in per_unit.counts] == [
            (follow_up.unit_id, follow_up.period, 1, 1)
        ]


async def test_follow_up_fields_are_checked(harness: Harness) -> None:
    missing = await rpc_error(
        harness.response.Submit(
            pb.SubmitRequest(
                token="x" * 40,
                answers=answers(csat=1, nps=1),
                idempotency_key=uuid.uuid4().hex,
                contact_consent=True,
            )
        )
    )
    assert missing.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_of(missing) == "contact"
    for request, field in [
        (pb.CloseFollowUpRequest(follow_up_id="nope", outcome="x"), "follow_up_id"),
        (pb.CloseFollowUpRequest(follow_up_id=str(uuid.uuid4()), outcome=""), "outcome"),
    ]:
        error = await rpc_error(harness.response.CloseFollowUp(request))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_of(error) == field
    unknown = await rpc_error(
        harness.response.CloseFollowUp(
            pb.CloseFollowUpRequest(follow_up_id=str(uuid.uuid4()), outcome="done")
        )
    )
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    bad = await rpc_error(
        harness.response.CountFollowUps(pb.CountFollowUpsRequest(period_from="2026-13"))
    )
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_bottom_box_is_the_worst_point_or_an_nps_detractor() -> None:
    definition = customer_definition()
    items = {i.construct: i.item_id for i in definition.items}
    csat, nps = items["csat"], items["nps"]
    assert bottom_box([(csat, 1), (nps, 9)], definition) == ("csat", 1)
    assert bottom_box([(csat, 2), (nps, 6)], definition) == ("nps", 6)
    assert bottom_box([(csat, 2), (nps, 7)], definition) is None
