"""Customer interactions via gRPC and via pulse.interaction.completed: sampling decisions,
contact budget, the org as it stood on the interaction date, exactly-once handling."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import nats
from pulse.events.v1 import events_pb2
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse.types.v1 import types_pb2 as t
from pulse_common.messaging import publish_event
from pulse_testing.survey import (
    CUSTOMER_ITEMS,
    TODAY,
    Survey,
    field_of,
    invitation_events,
    make_org,
    published_survey,
    rpc_error,
    running_survey,
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
    # Today (UTC), when n1 no longer exists: "an hour ago" may still be yesterday.
    now = datetime.now(UTC)
    error = await rpc_error(
        stub.RecordInteraction(
            pb.RecordInteractionRequest(interaction=interaction("new", "f@x.io", when=now))
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


async def wait_for_messages(survey: Survey, msg_ids: list[str]) -> None:
    """Until the interaction consumer has committed these messages (its ledger rows)."""
    for _ in range(100):
        done = await survey.pool.fetchval(
            "SELECT count(*) FROM survey.processed_messages WHERE msg_id = ANY($1)", msg_ids
        )
        if done == len(msg_ids):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"messages {msg_ids} were not handled")


def completed(iid: str, contact: str, channel: str = "ticket") -> events_pb2.InteractionCompleted:
    return events_pb2.InteractionCompleted(
        interaction_id=iid,
        unit_id="n1",
        occurred_at=(datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        channel=channel,
        customer_contact=contact,
    )


async def test_a_resent_interaction_gets_one_invitation_via_event_and_rpc(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub)
    await published_survey(stub, CUSTOMER, CUSTOMER_ITEMS)
    nc = await nats.connect(survey.nats_url)
    try:
        js = nc.jetstream()
        # Event first, then the same interaction by RPC.
        await publish_event(
            js, "pulse.interaction.completed", completed("ev-1", "a@x.io"), msg_id="a"
        )
        await wait_for_messages(survey, ["a"])
        first = await survey.pool.fetchval(
            "SELECT invitation_id FROM survey.interactions WHERE interaction_id = 'ev-1'"
        )
        again = await stub.RecordInteraction(
            pb.RecordInteractionRequest(interaction=interaction("ev-1", "a@x.io", unit="n1"))
        )
        assert again.duplicate
        assert again.invitation_id == str(first)
        # RPC first, then the event twice (a CRM retry with a new message id).
        rpc = await stub.RecordInteraction(
            pb.RecordInteractionRequest(interaction=interaction("rpc-1", "b@x.io", unit="n1"))
        )
        assert (rpc.decision, rpc.duplicate) == (pb.INTERACTION_DECISION_INVITED, False)
        for msg_id in ("b", "c"):
            await publish_event(
                js, "pulse.interaction.completed", completed("rpc-1", "b@x.io"), msg_id=msg_id
            )
        # Both at once: five RPCs racing the event for one interaction id.
        await publish_event(
            js, "pulse.interaction.completed", completed("race-1", "c@x.io"), msg_id="d"
        )
        racing = await asyncio.gather(
            *(
                stub.RecordInteraction(
                    pb.RecordInteractionRequest(
                        interaction=interaction("race-1", "c@x.io", unit="n1")
                    )
                )
                for _ in range(5)
            )
        )
        await wait_for_messages(survey, ["b", "c", "d"])
    finally:
        await nc.close()
    assert len({r.invitation_id for r in racing}) == 1
    issued = await invitation_events(survey, 3)
    assert sorted(e.interaction_id for e in issued) == ["ev-1", "race-1", "rpc-1"]
    assert await survey.pool.fetchval("SELECT count(*) FROM survey.invitations") == 3


async def test_a_channel_sampled_at_zero_is_suppressed_and_recorded(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    async with running_survey(
        database_url, nats_url, tmp_path, PULSE_SAMPLING="call=0,ticket=1.0,*=1"
    ) as survey:
        stub = survey.stub
        await make_org(stub)
        await published_survey(stub, CUSTOMER, CUSTOMER_ITEMS)
        calls = [
            await stub.RecordInteraction(
                pb.RecordInteractionRequest(interaction=interaction(f"c{n}", f"c{n}@x.io"))
            )
            for n in range(5)
        ]
        assert {(c.decision, c.suppression_reason) for c in calls} == {
            (pb.INTERACTION_DECISION_SUPPRESSED, "sampled_out")
        }
        ticket = pb.Interaction(
            interaction_id="t1",
            unit_id="n1",
            occurred_at=datetime.now(UTC).isoformat(),
            channel="ticket",
            customer_contact="t1@x.io",
        )
        invited = await stub.RecordInteraction(pb.RecordInteractionRequest(interaction=ticket))
        assert invited.decision == pb.INTERACTION_DECISION_INVITED
        # The event path samples the same way; a retry keeps the decision.
        nc = await nats.connect(survey.nats_url)
        try:
            await publish_event(
                nc.jetstream(),
                "pulse.interaction.completed",
                completed("ev-call", "e@x.io", channel="CALL"),
                msg_id="m-call",
            )
            await wait_for_messages(survey, ["m-call"])
        finally:
            await nc.close()
        retry = await stub.RecordInteraction(
            pb.RecordInteractionRequest(interaction=interaction("c0", "c0@x.io"))
        )
        assert (retry.duplicate, retry.suppression_reason) == (True, "sampled_out")
        recorded = await survey.pool.fetch(
            "SELECT interaction_id, channel, suppression_reason, invitation_id"
            " FROM survey.interactions ORDER BY interaction_id"
        )
        assert [(r["interaction_id"], r["suppression_reason"]) for r in recorded] == [
            *((f"c{n}", "sampled_out") for n in range(5)),
            ("ev-call", "sampled_out"),
            ("t1", ""),
        ]
        assert all(r["invitation_id"] is None for r in recorded if r["suppression_reason"])
        assert await survey.pool.fetchval("SELECT count(*) FROM survey.invitations") == 1
