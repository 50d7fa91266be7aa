"""Backfill (issue 19): a wave of a past period only through BackfillWave, only for an admin,
audited, with tokens that stay redeemable until their explicit expiry; the scheduler leaves
it open until then, CloseWave closes it (and announces it, so held answers are written)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
from pulse.events.v1 import events_pb2
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse_common import auth
from pulse_common.errors import INVALID_TOKEN_MESSAGE
from pulse_common.uow import Database
from pulse_survey import wave_scheduler
from pulse_survey.context import Deps
from pulse_survey.settings import load_survey_settings
from pulse_testing.security import caller, viewer_id_of
from pulse_testing.survey import (
    TODAY,
    Survey,
    field_of,
    import_roster,
    invitation_events,
    make_org,
    published_survey,
    read_events,
    rows,
    rpc_error,
)

OPENS = TODAY - timedelta(days=30)


def backfill_request(survey_id: str, **overrides: object) -> pb.BackfillWaveRequest:
    fields: dict[str, object] = {
        "survey_id": survey_id,
        "audience_unit_id": "root",
        "opens_on": OPENS.isoformat(),
        "open_days": 7,
        "token_valid_days": 2,
        "reason": "paper survey of last month",
    }
    fields.update(overrides)
    return pb.BackfillWaveRequest(**fields)  # type: ignore[arg-type]


async def test_a_past_period_needs_backfill_by_an_admin(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub)
    await import_roster(stub, rows({"n1": 3, "south": 2}))
    definition = await published_survey(stub)

    past = await rpc_error(
        stub.ScheduleWave(
            pb.ScheduleWaveRequest(
                survey_id=definition.survey_id,
                audience_unit_id="root",
                cadence=pb.CADENCE_ONCE,
                first_opens_on=OPENS.isoformat(),
                count=1,
                open_days=7,
            )
        )
    )
    assert past.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_of(past) == "first_opens_on"

    for role in (auth.LEADER, auth.ANALYST, auth.RESPONDENT_FRONT, auth.RESPONSE):
        denied = await rpc_error(
            stub.BackfillWave(
                backfill_request(definition.survey_id), metadata=caller("someone", (role,))
            )
        )
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED, role

    for overrides, field in (
        ({"opens_on": (TODAY - timedelta(days=3)).isoformat()}, "opens_on"),  # still open
        ({"opens_on": "last month"}, "opens_on"),
        ({"token_valid_days": 0}, "token_valid_days"),
        ({"token_valid_days": 31}, "token_valid_days"),
        ({"open_days": 0}, "open_days"),
        ({"reason": "  "}, "reason"),
        ({"audience_unit_id": ""}, "audience_unit_id"),
    ):
        bad = await rpc_error(
            stub.BackfillWave(backfill_request(definition.survey_id, **overrides))
        )
        assert (bad.code(), field_of(bad)) == (grpc.StatusCode.INVALID_ARGUMENT, field), field
    # Nothing was created by the refused calls.
    assert not (await stub.ListWaves(pb.ListWavesRequest())).waves


async def test_backfilled_wave_is_audited_redeemable_and_closed_by_hand(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub)
    await import_roster(stub, rows({"n1": 3, "south": 2}))
    definition = await published_survey(stub)
    before = datetime.now(UTC)
    reply = await stub.BackfillWave(
        backfill_request(definition.survey_id),
        metadata=caller("history-admin", (auth.ADMIN,)),
    )
    wave = reply.wave
    assert reply.invitations_issued == 5
    assert wave.status == pb.WAVE_STATUS_OPEN
    assert wave.period == f"{OPENS.year}-{OPENS.month:02d}"
    assert wave.opens_at.startswith(OPENS.isoformat())
    expires = datetime.fromisoformat(reply.tokens_expire_at)
    assert timedelta(days=2) <= expires - before < timedelta(days=2, minutes=5)

    audit = await survey.pool.fetch("SELECT * FROM survey.wave_backfills")
    assert [(str(r["wave_id"]), r["requested_by"], r["reason"]) for r in audit] == [
        (wave.wave_id, viewer_id_of("history-admin"), "paper survey of last month")
    ]
    # A second backfill of the same audience and dates clashes.
    clash = await rpc_error(stub.BackfillWave(backfill_request(definition.survey_id)))
    assert clash.code() == grpc.StatusCode.ALREADY_EXISTS

    issued = [e for e in await invitation_events(survey, 5) if e.wave_id == wave.wave_id]
    assert len(issued) == 5
    assert {e.expires_at for e in issued} == {reply.tokens_expire_at}

    # The closing day has passed, but the scheduler leaves the wave open while tokens work.
    deps = Deps(Database(survey.pool), load_survey_settings(survey.settings.extra, survey.settings))
    await wave_scheduler.tick(deps)
    listed = (await stub.ListWaves(pb.ListWavesRequest())).waves
    assert [(w.wave_id, w.status) for w in listed] == [(wave.wave_id, pb.WAVE_STATUS_OPEN)]

    grant = (
        await stub.RedeemToken(
            pb.RedeemTokenRequest(token=issued[0].token, redemption_key="key-0001")
        )
    ).grant
    assert (grant.wave_id, grant.period) == (wave.wave_id, wave.period)

    closed = await stub.CloseWave(pb.CloseWaveRequest(wave_id=wave.wave_id))
    assert closed.wave.status == pb.WAVE_STATUS_CLOSED
    announced = await read_events(survey.nats_url, "pulse.wave.closed", events_pb2.WaveClosed, 1)
    assert [e.wave_id for e in announced] == [wave.wave_id]
    late = await rpc_error(
        stub.RedeemToken(pb.RedeemTokenRequest(token=issued[1].token, redemption_key="key-0002"))
    )
    assert late.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert INVALID_TOKEN_MESSAGE not in (late.details() or "")
