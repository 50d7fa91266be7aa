"""Two cross-cutting promises: the contact budget holds across employee waves and customer
interactions for the same person (both orders), and a customer interaction is attributed to
the org as it stood on its date, whatever moves or merges were recorded since."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta

import grpc
from pulse.events.v1 import events_pb2
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse.types.v1 import types_pb2 as t
from pulse_common.periods import label_of
from pulse_testing.survey import (
    CUSTOMER_ITEMS,
    TODAY,
    Survey,
    field_of,
    import_roster,
    invitation_events,
    make_org,
    open_wave,
    published_survey,
    read_events,
    rows,
    rpc_error,
)

CUSTOMER = t.SURVEY_KIND_CUSTOMER_POST_INTERACTION


async def record(
    survey: Survey,
    iid: str,
    contact: str,
    key: str = "",
    unit: str = "n1",
    day: date | None = None,
) -> pb.RecordInteractionResponse:
    moment = datetime.combine(day, time(12), UTC) if day else datetime.now(UTC) - timedelta(hours=1)
    reply: pb.RecordInteractionResponse = await survey.stub.RecordInteraction(
        pb.RecordInteractionRequest(
            interaction=pb.Interaction(
                interaction_id=iid,
                unit_id=unit,
                occurred_at=moment.isoformat(),
                channel="call",
                customer_key=key,
                customer_contact=contact,
            )
        )
    )
    return reply


async def test_an_employee_asked_in_a_wave_is_not_asked_again_as_a_customer(
    survey: Survey,
) -> None:
    stub = survey.stub
    await make_org(stub)
    await import_roster(stub, rows({"n1": 5}))
    await published_survey(stub, CUSTOMER, CUSTOMER_ITEMS)
    employee = await published_survey(stub)
    opened = await open_wave(stub, employee.survey_id, audience="north")
    assert opened.invitations_issued == 5

    # The same person as a customer, by each identifier the budget links (see budget.py).
    same_email = await record(survey, "i-1", " N1.0@Example.COM", key="crm-1")
    email_as_key = await record(survey, "i-2", "private@home.io", key="n1.1@example.com")
    employee_id_as_key = await record(survey, "i-3", "other@home.io", key="E-n1-2")
    stranger = await record(survey, "i-4", "stranger@x.io", key="crm-4")
    for reply in (same_email, email_as_key, employee_id_as_key):
        assert (reply.decision, reply.suppression_reason) == (
            pb.INTERACTION_DECISION_SUPPRESSED,
            "contact_budget",
        )
    assert stranger.decision == pb.INTERACTION_DECISION_INVITED
    reasons = await survey.pool.fetch(
        "SELECT interaction_id, suppression_reason FROM survey.interactions ORDER BY 1"
    )
    assert [tuple(r) for r in reasons] == [
        ("i-1", "contact_budget"),
        ("i-2", "contact_budget"),
        ("i-3", "contact_budget"),
        ("i-4", ""),
    ]
    customer_invitations = [e for e in await invitation_events(survey, 6) if e.interaction_id]
    assert [e.contact for e in customer_invitations] == ["stranger@x.io"]


async def test_a_customer_invited_yesterday_is_held_back_from_todays_wave(
    survey: Survey,
) -> None:
    stub = survey.stub
    await make_org(stub)
    await import_roster(stub, rows({"n1": 5}))
    await published_survey(stub, CUSTOMER, CUSTOMER_ITEMS)
    invited = await record(survey, "i-1", "n1.3@example.com")
    assert invited.decision == pb.INTERACTION_DECISION_INVITED
    # "Yesterday": the budget counts days, so age the stamp by one.
    aged = await survey.pool.execute(
        "UPDATE survey.contact_log SET last_contacted_on = last_contacted_on - 1"
    )
    assert aged == "UPDATE 1"

    employee = await published_survey(stub)
    opened = await open_wave(stub, employee.survey_id, audience="north")
    assert (opened.invitations_issued, opened.suppressed_by_contact_budget) == (4, 1)
    wave_contacts = {e.contact for e in await invitation_events(survey, 5) if e.wave_id}
    assert wave_contacts == {f"n1.{i}@example.com" for i in (0, 1, 2, 4)}


async def test_a_move_reattributes_nothing_from_before_its_date(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub, since=TODAY - timedelta(days=60))
    await published_survey(stub, CUSTOMER, CUSTOMER_ITEMS)
    moved_on = TODAY - timedelta(days=5)
    before = moved_on - timedelta(days=3)
    # Unit n1 moves from north to south; afterwards an interaction dated before the move
    # is recorded.
    await stub.UpdateUnit(
        pb.UpdateUnitRequest(unit_id="n1", parent_id="south", effective_from=moved_on.isoformat())
    )
    old = await record(survey, "old", "a@x.io", unit="n1", day=before)
    assert old.decision == pb.INTERACTION_DECISION_INVITED
    [event] = await invitation_events(survey, 1)
    grant = (await stub.InspectToken(pb.InspectTokenRequest(token=event.token))).grant
    assert (grant.unit_id, grant.period) == ("n1", label_of(before, "month"))

    def parents(reply: pb.ListUnitsResponse) -> dict[str, str]:
        return {u.unit_id: u.parent_id for u in reply.units}

    then = await stub.ListUnits(pb.ListUnitsRequest(as_of=before.isoformat()))
    now = await stub.ListUnits(
        pb.ListUnitsRequest(as_of=(moved_on + timedelta(days=1)).isoformat())
    )
    assert parents(then)["n1"] == "north"
    assert parents(now)["n1"] == "south"
    # The history others rebuild from pulse.org.changed keeps n1 under north until the move.
    events = await read_events(survey.nats_url, "pulse.org.changed", events_pb2.OrgChanged, 6)
    n1 = sorted((e for e in events if e.unit_id == "n1"), key=lambda e: e.org_version)
    assert [(e.change, e.parent_id, e.valid_from) for e in n1] == [
        ("created", "north", (TODAY - timedelta(days=60)).isoformat()),
        ("moved", "south", moved_on.isoformat()),
    ]
    stored = await survey.pool.fetch(
        "SELECT parent_id, valid_from, valid_to FROM survey.org_versions"
        " WHERE unit_id = 'n1' ORDER BY valid_from"
    )
    assert [tuple(r) for r in stored] == [
        ("north", TODAY - timedelta(days=60), moved_on),
        ("south", moved_on, None),
    ]


async def test_interactions_before_a_merge_stay_with_the_merged_unit(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub, since=TODAY - timedelta(days=60))
    await published_survey(stub, CUSTOMER, CUSTOMER_ITEMS)
    merged_on = TODAY - timedelta(days=3)
    await stub.MergeUnits(
        pb.MergeUnitsRequest(
            source_unit_id="n2", target_unit_id="n1", effective_from=merged_on.isoformat()
        )
    )
    before = await record(survey, "before", "b@x.io", unit="n2", day=merged_on - timedelta(1))
    after = await record(survey, "after", "c@x.io", unit="n1", day=merged_on)
    assert before.decision == after.decision == pb.INTERACTION_DECISION_INVITED
    error = await rpc_error(record(survey, "late", "d@x.io", unit="n2", day=merged_on))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_of(error) == "interaction.unit_id"
    units = {}
    for event in await invitation_events(survey, 2):
        grant = (await stub.InspectToken(pb.InspectTokenRequest(token=event.token))).grant
        units[event.interaction_id] = grant.unit_id
    assert units == {"before": "n2", "after": "n1"}


async def test_a_wave_racing_an_interaction_asks_the_person_once(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub)
    await import_roster(stub, rows({"n1": 5}))
    await published_survey(stub, CUSTOMER, CUSTOMER_ITEMS)
    employee = await published_survey(stub)
    opened, customer = await asyncio.gather(
        open_wave(stub, employee.survey_id, audience="north"),
        record(survey, "race", "n1.0@example.com"),
    )
    if customer.decision == pb.INTERACTION_DECISION_INVITED:
        assert (opened.invitations_issued, opened.suppressed_by_contact_budget) == (4, 1)
    else:
        assert customer.suppression_reason == "contact_budget"
        assert opened.invitations_issued == 5
    asked = [e for e in await invitation_events(survey, 5) if e.contact == "n1.0@example.com"]
    assert len(asked) == 1
