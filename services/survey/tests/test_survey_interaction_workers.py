"""Interactions handled by several workers at once: the contact budget still asks each
person once (interactions racing each other and a wave), re-sends keep one decision, no
message fails on a lock along the way; the cached org never refuses a unit the database
knows, and a survey published here is used by the very next interaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
from pulse.events.v1 import events_pb2
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse.types.v1 import types_pb2 as t
from pulse_common.messaging import publish_event
from pulse_common.subjects import INTERACTION_COMPLETED, STREAM
from pulse_survey.messaging import DURABLE
from pulse_testing.survey import (
    CUSTOMER_ITEMS,
    TODAY,
    Survey,
    import_roster,
    invitation_events,
    make_org,
    open_wave,
    published_survey,
    rows,
    running_survey,
)

CUSTOMER = t.SURVEY_KIND_CUSTOMER_POST_INTERACTION
PEOPLE = 5


def person_interactions(person: int) -> list[events_pb2.InteractionCompleted]:
    """Three interactions from the employee's own address, three from other addresses
    under their employee id as CRM key (the roster links that key to the same person)."""
    when = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    own = [
        events_pb2.InteractionCompleted(
            interaction_id=f"p{person}-own-{n}",
            unit_id="n1",
            occurred_at=when,
            channel="ticket",
            customer_contact=f"n1.{person}@example.com",
        )
        for n in range(3)
    ]
    keyed = [
        events_pb2.InteractionCompleted(
            interaction_id=f"p{person}-key-{n}",
            unit_id="n1",
            occurred_at=when,
            channel="ticket",
            customer_key=f"E-n1-{person}",
            customer_contact=f"alias{person}.{n}@x.io",
        )
        for n in range(3)
    ]
    return own + keyed


async def test_concurrent_workers_ask_each_person_once_without_failures(
    database_url: str, nats_url: str, tmp_path: Path
) -> None:
    async with running_survey(
        database_url, nats_url, tmp_path, PULSE_SURVEY_INTERACTION_WORKERS="3"
    ) as survey:
        assert survey.durables.count(DURABLE) == 3
        stub = survey.stub
        await make_org(stub)
        await import_roster(stub, rows({"n1": PEOPLE}))
        await published_survey(stub, CUSTOMER, CUSTOMER_ITEMS)
        employee = await published_survey(stub)
        events = [e for person in range(PEOPLE) for e in person_interactions(person)]
        nc = await nats.connect(survey.nats_url)
        try:
            js = nc.jetstream()

            async def publish_twice() -> None:
                # Every interaction twice (a CRM retry under a new message id), all at once.
                await asyncio.gather(
                    *(
                        publish_event(
                            js, INTERACTION_COMPLETED, e, msg_id=f"{e.interaction_id}:{r}"
                        )
                        for r in range(2)
                        for e in events
                    )
                )

            # ... while a wave asks the same people.
            opened, _ = await asyncio.gather(
                open_wave(stub, employee.survey_id, audience="north"), publish_twice()
            )
            await wait_for_ledger(survey, 2 * len(events))
            for _ in range(100):  # acks follow the commits
                info = await js.consumer_info(STREAM, DURABLE)
                if info.num_ack_pending == 0:
                    break
                await asyncio.sleep(0.05)
        finally:
            await nc.close()
        assert (info.num_pending, info.num_ack_pending) == (0, 0)
        # One delivery per message: no handler failed on a deadlock or lock timeout.
        assert info.delivered.consumer_seq == 2 * len(events)

        decided = await survey.pool.fetch(
            "SELECT interaction_id, suppression_reason FROM survey.interactions"
        )
        assert len(decided) == len(events)
        assert {r["suppression_reason"] for r in decided} <= {"", "contact_budget"}
        issued = await invitation_events(
            survey, opened.invitations_issued + sum(not r["suppression_reason"] for r in decided)
        )
        for person in range(PEOPLE):
            mine = {e.interaction_id for e in person_interactions(person)}
            asked = [
                e
                for e in issued
                if e.contact == f"n1.{person}@example.com" or e.interaction_id in mine
            ]
            assert len(asked) == 1, (person, asked)


async def wait_for_ledger(survey: Survey, count: int) -> None:
    for _ in range(200):
        if await survey.pool.fetchval("SELECT count(*) FROM survey.processed_messages") >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} messages were not handled")


def interaction(iid: str, unit: str = "n1", survey_id: str = "") -> pb.RecordInteractionRequest:
    return pb.RecordInteractionRequest(
        interaction=pb.Interaction(
            interaction_id=iid,
            unit_id=unit,
            occurred_at=(datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            channel="call",
            customer_contact=f"{iid}@x.io",
        ),
        survey_id=survey_id,
    )


async def test_a_unit_missing_from_the_cached_org_is_looked_up(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub)
    await published_survey(stub, CUSTOMER, CUSTOMER_ITEMS)
    first = await stub.RecordInteraction(interaction("i1", "n1"))  # the org is cached now
    assert first.decision == pb.INTERACTION_DECISION_INVITED
    # Another instance creates a unit: this one's cache does not know it yet.
    await survey.pool.execute(
        "INSERT INTO survey.org_versions (unit_id, valid_from, name, parent_id, unit_type,"
        " change, org_version) VALUES ('n3', $1, 'N3', 'north', 1, 'created', 99)",
        TODAY - timedelta(days=30),
    )
    second = await stub.RecordInteraction(interaction("i2", "n3"))
    assert second.decision == pb.INTERACTION_DECISION_INVITED


async def test_the_next_interaction_uses_what_was_just_published(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub)
    first = await published_survey(stub, CUSTOMER, CUSTOMER_ITEMS)
    await stub.RecordInteraction(interaction("a"))  # caches the latest survey ...
    await stub.RecordInteraction(interaction("b", survey_id=first.survey_id))  # ... and this one
    revised = await stub.CreateSurvey(
        pb.CreateSurveyRequest(
            name="Revised", kind=CUSTOMER, item_ids=CUSTOMER_ITEMS[:3], survey_id=first.survey_id
        )
    )
    await stub.PublishSurvey(pb.PublishSurveyRequest(survey_id=revised.survey.survey_id))
    await stub.RecordInteraction(interaction("c", survey_id=first.survey_id))
    second = await published_survey(stub, CUSTOMER, CUSTOMER_ITEMS)
    await stub.RecordInteraction(interaction("d"))
    issued = {e.interaction_id: e for e in await invitation_events(survey, 4)}
    assert (issued["a"].survey_id, issued["a"].survey_version) == (first.survey_id, 1)
    assert (issued["b"].survey_id, issued["b"].survey_version) == (first.survey_id, 1)
    assert (issued["c"].survey_id, issued["c"].survey_version) == (first.survey_id, 2)
    assert (issued["d"].survey_id, issued["d"].survey_version) == (second.survey_id, 1)
