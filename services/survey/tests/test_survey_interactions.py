"""Customer interactions via gRPC and via pulse.interaction.completed: sampling decisions,
contact budget, the org as it stood on the interaction date, exactly-once handling."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
import nats
from pulse.events.v1 import events_pb2
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse.types.v1 import types_pb2 as t
from pulse_common.messaging import publish_event
from pulse_survey.testkit import (
    CUSTOMER_ITEMS,
    TODAY,
    Survey,
    field_of,
    invitation_events,
    make_org,
    published_survey,
    rpc_error,
)

CUSTOMER = t.SURVEY_KIND_CUSTOMER_POST_INTERACTION


def interaction(
    iid: str, contact: str, unit: str = "n1", when: datetime | None = None
) -> pb.Interaction:
    moment = when or datetime.now(UTC) - timedelta(hours=1)
    return pb.Interaction(
        interaction_id=iid,
        unit_id=unit,
        occurred_at=moment.isoformat(),
        channel="Call",
        customer_key=f"cust-{contact}",
        customer_contact=contact,
    )


async def test_record_interaction_decisions(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub, since=TODAY - timedelta(days=200))
    no_survey = await stub.RecordInteraction(
        pb.RecordInteractionRequest(interaction=interaction("i0", "a@x.io"))
    )
    assert (no_survey.decision, no_survey.suppression_reason) == (
        pb.INTERACTION_DECISION_SUPPRESSED,
        "no_survey",
    )
    definition = await published_survey(stub, CUSTOMER, CUSTOMER_ITEMS)

    invited = await stub.RecordInteraction(
        pb.RecordInteractionRequest(interaction=interaction("i1", "b@x.io"))
    )
    assert invited.decision == pb.INTERACTION_DECISION_INVITED
    assert invited.invitation_id
    repeat = await stub.RecordInteraction(
        pb.RecordInteractionRequest(interaction=interaction("i1", "b@x.io"))
    )
    assert repeat.duplicate
    assert repeat.invitation_id == invited.invitation_id
    budget = await stub.RecordInteraction(
        pb.RecordInteractionRequest(interaction=interaction("i2", "B@x.io "))
    )
    assert budget.suppression_reason == "contact_budget"
    no_contact = await stub.RecordInteraction(
        pb.RecordInteractionRequest(interaction=interaction("i3", ""))
    )
    assert no_contact.suppression_reason == "no_contact"
    stale = await stub.RecordInteraction(
        pb.RecordInteractionRequest(
            interaction=interaction("i4", "c@x.io", when=datetime.now(UTC) - timedelta(days=90))
        )
    )
    assert stale.suppression_reason == "stale"

    [event] = await invitation_events(survey, 1)
    assert (event.contact, event.interaction_id, event.kind) == ("b@x.io", "i1", CUSTOMER)
    grant = (await stub.InspectToken(pb.InspectTokenRequest(token=event.token))).grant
    occurred = datetime.now(UTC) - timedelta(hours=1)
    assert grant.period == f"{occurred.year}-{occurred.month:02d}"
    assert (grant.unit_id, grant.channel, grant.wave_id) == ("n1", "call", "")
    assert grant.survey_id == definition.survey_id

    for bad, field in [
        (interaction("", "d@x.io"), "interaction.interaction_id"),
        (
            pb.Interaction(
                interaction_id="i5", unit_id="n1", occurred_at="yesterday", channel="call"
            ),
            "interaction.occurred_at",
        ),
        (interaction("i6", "d@x.io", unit="ghost"), "interaction.unit_id"),
    ]:
        error = await rpc_error(
            stub.RecordInteraction(pb.RecordInteractionRequest(interaction=bad))
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_of(error) == field
    assert await survey.pool.fetchval("SELECT count(*) FROM survey.interactions") == 5


async def test_unit_as_the_org_stood_on_the_interaction_date(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub)
    await published_survey(stub, CUSTOMER, CUSTOMER_ITEMS)
    await stub.MergeUnits(pb.MergeUnitsRequest(source_unit_id="n1", target_unit_id="n2"))
    before = datetime.combine(TODAY - timedelta(days=2), datetime.min.time(), UTC)
    ok = await stub.RecordInteraction(
        pb.RecordInteractionRequest(interaction=interaction("old", "e@x.io", when=before))
    )
    assert ok.decision == pb.INTERACTION_DECISION_INVITED
    error = await rpc_error(
        stub.RecordInteraction(
            pb.RecordInteractionRequest(interaction=interaction("new", "f@x.io"))
        )
    )
    assert field_of(error) == "interaction.unit_id"


async def test_interaction_events_are_handled_once_and_poison_is_dead_lettered(
    survey: Survey,
) -> None:
    await make_org(survey.stub)
    await published_survey(survey.stub, CUSTOMER, CUSTOMER_ITEMS)
    nc = await nats.connect(survey.nats_url)
    try:
        js = nc.jetstream()
        event = events_pb2.InteractionCompleted(
            interaction_id="crm-1",
            unit_id="n2",
            occurred_at=datetime.now(UTC).isoformat(),
            channel="ticket",
            customer_contact="g@x.io",
        )
        # The same message twice (a CRM retry outside the duplicate window has a new msg id
        # but the same interaction id) and one undecodable message.
        await publish_event(js, "pulse.interaction.completed", event, msg_id="m-1")
        await publish_event(js, "pulse.interaction.completed", event, msg_id="m-2")
        await js.publish(
            "pulse.interaction.completed", b"\xff\xff garbage", headers={"Nats-Msg-Id": "m-3"}
        )
        sub = await js.pull_subscribe("pulse.deadletter.>", durable="t-dlq", stream="PULSE")
        dead = await sub.fetch(1, timeout=10)
        assert dead[0].data == b"\xff\xff garbage"
    finally:
        await nc.close()
    for _ in range(50):
        if await survey.pool.fetchval("SELECT count(*) FROM survey.processed_messages") == 2:
            break
        await asyncio.sleep(0.1)
    assert await survey.pool.fetchval("SELECT count(*) FROM survey.invitations") == 1
    [issued] = await invitation_events(survey, 1)
    assert issued.interaction_id == "crm-1"
