"""Interaction events fetched together are decided in one unit of work
(``interaction_batch``, issue 20) exactly as one by one: a customer asked earlier in the
same batch is held back by the contact budget, an interaction recorded before by RPC keeps
its first decision, sampled-out and contact-less ones are recorded with their reasons."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import nats
from pulse.events.v1 import events_pb2
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse.types.v1 import types_pb2 as t
from pulse_common.messaging import publish_event
from pulse_common.subjects import INTERACTION_COMPLETED
from pulse_testing.survey import (
    CUSTOMER_ITEMS,
    Survey,
    invitation_events,
    make_org,
    published_survey,
)

CUSTOMER = t.SURVEY_KIND_CUSTOMER_POST_INTERACTION


def completed(iid: str, contact: str, key: str = "") -> events_pb2.InteractionCompleted:
    return events_pb2.InteractionCompleted(
        interaction_id=iid,
        unit_id="n1",
        occurred_at=(datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        channel="ticket",
        customer_key=key,
        customer_contact=contact,
    )


async def test_a_batch_decides_as_one_by_one(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub)
    await published_survey(stub, CUSTOMER, CUSTOMER_ITEMS)
    before = await stub.RecordInteraction(
        pb.RecordInteractionRequest(
            interaction=pb.Interaction(
                interaction_id="b-rpc",
                unit_id="n1",
                occurred_at=(datetime.now(UTC) - timedelta(hours=2)).isoformat(),
                channel="ticket",
                customer_contact="rpc@x.io",
            )
        )
    )
    assert before.decision == pb.INTERACTION_DECISION_INVITED
    events = [
        completed("b-1", "same@x.io"),
        completed("b-2", "other@x.io", key="same@x.io"),  # the same person by CRM key
        completed("b-3", "same@x.io"),
        completed("b-4", "fresh@x.io"),
        completed("b-5", ""),  # no contact
        completed("b-rpc", "changed@x.io"),  # recorded before: its decision stands
        completed("b-4", "fresh@x.io"),  # the same interaction again, another message
    ]
    nc = await nats.connect(survey.nats_url)
    try:
        js = nc.jetstream()
        await asyncio.gather(
            *(
                publish_event(js, INTERACTION_COMPLETED, e, msg_id=f"m-{n}")
                for n, e in enumerate(events)
            )
        )
    finally:
        await nc.close()
    msg_ids = [f"m-{n}" for n in range(len(events))]
    for _ in range(400):  # the ledger rows of these messages (the delivery log has others)
        handled = await survey.pool.fetchval(
            "SELECT count(*) FROM survey.processed_messages WHERE msg_id = ANY($1)", msg_ids
        )
        if handled == len(events):
            break
        await asyncio.sleep(0.05)
    decided = {
        r["interaction_id"]: r["suppression_reason"]
        for r in await survey.pool.fetch(
            "SELECT interaction_id, suppression_reason FROM survey.interactions"
        )
    }
    assert set(decided) == {"b-rpc", "b-1", "b-2", "b-3", "b-4", "b-5"}
    assert (decided["b-rpc"], decided["b-4"], decided["b-5"]) == ("", "", "no_contact")
    same_person = sorted(decided[i] for i in ("b-1", "b-2", "b-3"))
    assert same_person == ["", "contact_budget", "contact_budget"]  # asked once
    issued = await invitation_events(survey, 3)
    assert len(issued) == 3
    first = {e.interaction_id: e.contact for e in issued}
    assert first["b-rpc"] == "rpc@x.io"
    assert first["b-4"] == "fresh@x.io"
    assert await survey.pool.fetchval("SELECT count(*) FROM survey.invitations") == 3
