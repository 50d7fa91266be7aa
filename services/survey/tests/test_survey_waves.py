"""Waves end to end: tokens issued once per person, redeemed once, rates released only for
groups of at least k, closing, reminders, contact budget and rotation."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from datetime import date, timedelta

import grpc
from pulse.events.v1 import events_pb2
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse.types.v1 import types_pb2 as t
from pulse_common.errors import INVALID_TOKEN_MESSAGE
from pulse_common.uow import Database
from pulse_survey import wave_scheduler
from pulse_survey.context import Deps
from pulse_survey.settings import load_survey_settings
from pulse_testing.security import as_viewer
from pulse_testing.survey import (
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


async def test_wave_tokens_rates_and_closing(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub)
    await import_roster(stub, rows({"n1": 6, "n2": 3, "south": 5}))
    definition = await published_survey(stub)
    opened = await open_wave(stub, definition.survey_id)
    assert opened.invitations_issued == 14
    assert opened.wave.status == pb.WAVE_STATUS_OPEN
    assert opened.wave.period == f"{TODAY.year}-{TODAY.month:02d}"

    issued = await invitation_events(survey, 14)
    assert len(issued) == 14
    assert len({e.token for e in issued}) == 14
    assert all(
        e.link_path == f"/s/{e.token}" and e.contact.endswith("@example.com") for e in issued
    )
    # Only hashes are stored: no raw token anywhere in the invitation tables.
    stored = await survey.pool.fetch("SELECT token_hash FROM survey.invitation_tokens")
    assert {e.token for e in issued}.isdisjoint({r["token_hash"] for r in stored})

    wave_opened = await read_events(survey.nats_url, "pulse.wave.opened", events_pb2.WaveOpened, 1)
    assert dict(wave_opened[0].invited_by_unit) == {"n1": 6, "n2": 3, "south": 5}

    token = next(e.token for e in issued if e.contact.startswith("n1."))
    inspected = (await stub.InspectToken(pb.InspectTokenRequest(token=token))).grant
    grant = (
        await stub.RedeemToken(pb.RedeemTokenRequest(token=token, redemption_key="key-0001"))
    ).grant
    assert grant == inspected
    assert grant.unit_id == "n1"
    assert grant.kind == t.SURVEY_KIND_EMPLOYEE_PULSE
    assert grant.wave_id == opened.wave.wave_id
    assert grant.survey_version == definition.version
    retry = (
        await stub.RedeemToken(pb.RedeemTokenRequest(token=token, redemption_key="key-0001"))
    ).grant
    assert retry == grant
    # Used, unknown, malformed: one identical error.
    bad_calls: list[Awaitable[object]] = [
        stub.RedeemToken(pb.RedeemTokenRequest(token=token, redemption_key="key-0002")),
        stub.InspectToken(pb.InspectTokenRequest(token=token)),
        stub.RedeemToken(pb.RedeemTokenRequest(token="A" * 43, redemption_key="key-0002")),
        stub.InspectToken(pb.InspectTokenRequest(token="short")),
    ]
    for bad in bad_calls:
        error = await rpc_error(bad)
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        assert error.details() == INVALID_TOKEN_MESSAGE

    rates = await stub.GetResponseRates(pb.GetResponseRatesRequest(wave_id=opened.wave.wave_id))
    by_unit = {r.unit_id: r for r in rates.rates}
    assert rates.min_group_size == 5
    assert (by_unit["n1"].invited, by_unit["n1"].responded, by_unit["n1"].suppressed) == (
        6,
        1,
        False,
    )
    assert (by_unit["n2"].invited, by_unit["n2"].responded, by_unit["n2"].suppressed) == (
        0,
        0,
        True,
    )
    # The scope is the caller token's: a leader of north sees north's units only.
    scoped = await stub.GetResponseRates(
        pb.GetResponseRatesRequest(wave_id=opened.wave.wave_id),
        metadata=as_viewer("north-lead", "north"),
    )
    assert {r.unit_id for r in scoped.rates} == {"n1", "n2"}

    await stub.CloseWave(pb.CloseWaveRequest(wave_id=opened.wave.wave_id))
    other = next(e.token for e in issued if e.contact.startswith("south."))
    error = await rpc_error(
        stub.RedeemToken(pb.RedeemTokenRequest(token=other, redemption_key="key-0003"))
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    closed = await read_events(survey.nats_url, "pulse.wave.closed", events_pb2.WaveClosed, 1)
    assert closed[0].wave_id == opened.wave.wave_id
    error = await rpc_error(stub.OpenWave(pb.OpenWaveRequest(wave_id=opened.wave.wave_id)))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_concurrent_redemptions_consume_a_token_once(survey: Survey) -> None:
    await make_org(survey.stub)
    await import_roster(survey.stub, rows({"n1": 5}))
    definition = await published_survey(survey.stub)
    await open_wave(survey.stub, definition.survey_id)
    token = (await invitation_events(survey, 5))[0].token

    async def attempt(key: str) -> tuple[grpc.StatusCode, str]:
        try:
            await survey.stub.RedeemToken(pb.RedeemTokenRequest(token=token, redemption_key=key))
        except grpc.aio.AioRpcError as error:
            return error.code(), error.details() or ""
        return grpc.StatusCode.OK, ""

    results = await asyncio.gather(*(attempt(f"concurrent-{i:02d}") for i in range(20)))
    winners = [r for r in results if r[0] == grpc.StatusCode.OK]
    losers = [r for r in results if r[0] != grpc.StatusCode.OK]
    assert len(winners) == 1
    assert len(losers) == 19
    assert set(losers) == {(grpc.StatusCode.UNAUTHENTICATED, INVALID_TOKEN_MESSAGE)}
    assert await survey.pool.fetchval("SELECT count(*) FROM survey.invitations WHERE redeemed") == 1


async def test_list_invitations_says_nothing_about_who_answered(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub)
    await import_roster(stub, rows({"n1": 5}))
    definition = await published_survey(stub)
    opened = await open_wave(stub, definition.survey_id)
    request = pb.ListInvitationsRequest(wave_id=opened.wave.wave_id)
    before = await stub.ListInvitations(request)
    for _ in range(100):  # the log adapter delivers each invitation
        if {i.delivery_status for i in before.invitations} == {"sent"}:
            break
        await asyncio.sleep(0.1)
        before = await stub.ListInvitations(request)
    assert {i.delivery_status for i in before.invitations} == {"sent"}
    issued = await invitation_events(survey, 5)
    for event in issued[:2]:
        await stub.RedeemToken(pb.RedeemTokenRequest(token=event.token, redemption_key="answer-1"))
    assert await stub.ListInvitations(request) == before
    await survey.pool.execute(
        "UPDATE survey.invitations SET last_sent_at = now() - interval '2 days'"
    )
    reminded = await stub.SendReminders(pb.SendRemindersRequest(wave_id=opened.wave.wave_id))
    assert reminded.reminders_sent == 3
    after = await stub.ListInvitations(request)
    assert [i.reminders_sent for i in after.invitations] == [1] * 5
    assert [i.invitation_id for i in after.invitations] == [
        i.invitation_id for i in before.invitations
    ]
    # Delivery status is the first mailing's: a reminder's would tell who had not answered.
    await asyncio.sleep(0.5)
    after = await stub.ListInvitations(request)
    assert [i.delivery_status for i in after.invitations] == ["sent"] * 5
    # The message has no field a redemption could show through (delivery status and detail
    # are those of the invitation mailing, sent before anyone could answer).
    assert set(pb.InvitationSummary.DESCRIPTOR.fields_by_name) == {
        "invitation_id",
        "survey_id",
        "wave_id",
        "channel",
        "issued_at",
        "expires_at",
        "reminders_sent",
        "delivery_status",
        "delivery_detail",
    }


async def test_reminders_contact_budget_and_rotation(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub)
    await import_roster(stub, rows({"n1": 6}))
    definition = await published_survey(stub)
    optional = [i.item_id for i in definition.items if not i.required]
    assert len(optional) == 4
    opened = await open_wave(stub, definition.survey_id, rotation=2)
    issued = await invitation_events(survey, 6)
    grants = [
        (await stub.InspectToken(pb.InspectTokenRequest(token=e.token))).grant for e in issued
    ]
    required = [i.item_id for i in definition.items if i.required]
    asked_optional = []
    for grant in grants:
        assert set(required) <= set(grant.item_ids)
        extra = [i for i in grant.item_ids if i in optional]
        assert len(extra) == 2
        asked_optional += extra
    # Rotation derives from the token: asking again gives the same set, and no column of
    # the invitations table keeps it (issue 13).
    again_grants = [
        (await stub.InspectToken(pb.InspectTokenRequest(token=e.token))).grant for e in issued
    ]
    assert [list(g.item_ids) for g in again_grants] == [list(g.item_ids) for g in grants]
    assert set(asked_optional) <= set(optional)
    columns = await survey.pool.fetch(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = 'survey' AND table_name = 'invitations'"
    )
    assert "item_ids" not in {c["column_name"] for c in columns}

    # Reminders wait a day after the last mail; pretend it has passed.
    await survey.pool.execute(
        "UPDATE survey.invitations SET last_sent_at = now() - interval '2 days'"
    )
    await stub.RedeemToken(pb.RedeemTokenRequest(token=issued[0].token, redemption_key="answered"))
    sent = await stub.SendReminders(pb.SendRemindersRequest(wave_id=opened.wave.wave_id))
    assert sent.reminders_sent == 5
    again = await stub.SendReminders(pb.SendRemindersRequest(wave_id=opened.wave.wave_id))
    assert again.reminders_sent == 0  # too soon
    reminders = [e for e in await invitation_events(survey, 11) if e.reminder]
    assert len(reminders) == 5
    # The reminder link and the first link reach the same single-use invitation.
    reminded = reminders[0]
    first = next(e for e in issued if e.invitation_id == reminded.invitation_id)
    await stub.RedeemToken(
        pb.RedeemTokenRequest(token=reminded.token, redemption_key="via-reminder")
    )
    error = await rpc_error(stub.InspectToken(pb.InspectTokenRequest(token=first.token)))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED

    # Everyone was just asked: a second survey within the contact budget asks nobody.
    second = await published_survey(stub)
    blocked = await open_wave(stub, second.survey_id)
    assert blocked.invitations_issued == 0
    assert blocked.suppressed_by_contact_budget == 6
    listed = await stub.ListInvitations(pb.ListInvitationsRequest(wave_id=opened.wave.wave_id))
    assert listed.total == 6
    # One reminder round so far, reported for every invitation of the wave alike (the one
    # already answered was not reminded, but the listing must not say which one that is).
    assert [i.reminders_sent for i in listed.invitations] == [1] * 6


async def test_schedule_validation(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub)
    definition = await published_survey(stub)
    monthly = await stub.ScheduleWave(
        pb.ScheduleWaveRequest(
            survey_id=definition.survey_id,
            audience_unit_id="north",
            cadence=pb.CADENCE_MONTHLY,
            first_opens_on="2031-01-31",
            count=3,
            open_days=10,
        )
    )
    assert [w.opens_at[:10] for w in monthly.waves] == ["2031-01-31", "2031-02-28", "2031-03-31"]
    assert [w.period for w in monthly.waves] == ["2031-01", "2031-02", "2031-03"]
    # Weekly waves under the explicitly set 14-day contact budget would hold back everyone
    # every other week: refused, naming the cadence and the budget.
    error = await rpc_error(
        stub.ScheduleWave(
            pb.ScheduleWaveRequest(
                survey_id=definition.survey_id,
                audience_unit_id="north",
                cadence=pb.CADENCE_WEEKLY,
                first_opens_on="2032-01-01",
                count=2,
                open_days=5,
            )
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_of(error) == "cadence"
    assert "PULSE_CONTACT_BUDGET_DAYS" in str(error.details())
    # A wave open at the same time as another of the survey and audience is refused.
    error = await rpc_error(
        stub.ScheduleWave(
            pb.ScheduleWaveRequest(
                survey_id=definition.survey_id,
                audience_unit_id="north",
                cadence=pb.CADENCE_ONCE,
                first_opens_on="2031-02-01",
                count=1,
                open_days=5,
            )
        )
    )
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    waves = await stub.ListWaves(
        pb.ListWavesRequest(survey_id=definition.survey_id, status=pb.WAVE_STATUS_SCHEDULED)
    )
    assert len(waves.waves) == 3


async def test_the_scheduler_opens_waves_due_today_and_closes_those_past(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub)
    await import_roster(stub, rows({"n1": 2, "south": 3}))
    definition = await published_survey(stub)

    async def schedule(audience: str, opens_on: date, open_days: int) -> str:
        reply = await stub.ScheduleWave(
            pb.ScheduleWaveRequest(
                survey_id=definition.survey_id,
                audience_unit_id=audience,
                cadence=pb.CADENCE_ONCE,
                first_opens_on=opens_on.isoformat(),
                count=1,
                open_days=open_days,
            )
        )
        wave_id: str = reply.waves[0].wave_id
        return wave_id

    due = await schedule("north", TODAY, 7)
    # ScheduleWave refuses dates in the past (BackfillWave is for them): a wave whose time
    # passed while the service was down is put in the table directly.
    past_opens = TODAY - timedelta(days=10)
    past = str(
        await survey.pool.fetchval(
            "INSERT INTO survey.waves (wave_id, survey_id, survey_version, audience_unit_id,"
            " period, opens_on, closes_on, status, cadence) VALUES (gen_random_uuid(), $1, 1,"
            " 'south', $2, $3, $4, 'scheduled', $5) RETURNING wave_id",
            uuid.UUID(definition.survey_id),
            f"{past_opens.year}-{past_opens.month:02d}",
            past_opens,
            past_opens + timedelta(days=5),  # closed 5 days ago
            pb.CADENCE_ONCE,
        )
    )
    later = await schedule("root", TODAY + timedelta(days=40), 7)
    deps = Deps(Database(survey.pool), load_survey_settings(survey.settings.extra, survey.settings))
    await wave_scheduler.tick(deps)

    waves = {w.wave_id: w for w in (await stub.ListWaves(pb.ListWavesRequest())).waves}
    assert (waves[due].status, waves[due].invited) == (pb.WAVE_STATUS_OPEN, 2)
    assert (waves[past].status, waves[past].invited) == (pb.WAVE_STATUS_CLOSED, 0)
    assert waves[later].status == pb.WAVE_STATUS_SCHEDULED
    await wave_scheduler.tick(deps)  # nothing more is due: nothing changes, nothing fails
    again = {w.wave_id: w.status for w in (await stub.ListWaves(pb.ListWavesRequest())).waves}
    assert again == {wave_id: wave.status for wave_id, wave in waves.items()}
