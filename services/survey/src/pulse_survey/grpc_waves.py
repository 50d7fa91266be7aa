"""gRPC edge of waves: ScheduleWave, OpenWave, BackfillWave, CloseWave, ListWaves,
SendReminders and GetResponseRates. Checks the fields (naming them), calls ``waves`` /
``wave_backfill`` / ``wave_followup``."""

from __future__ import annotations

import dataclasses

from pulse.survey.v1 import survey_service_pb2 as pb
from pulse_common.auth import current_caller
from pulse_common.errors import InvalidArgument
from pulse_common.fields import parse_date, require_unit_id, rfc3339

from pulse_survey import domain, wave_backfill, wave_followup, waves
from pulse_survey.grpc_fields import (
    AreaServicer,
    Context,
    require_enum,
    survey_id_of,
    wave_id_of,
)

CADENCES = (pb.CADENCE_ONCE, pb.CADENCE_WEEKLY, pb.CADENCE_FORTNIGHTLY, pb.CADENCE_MONTHLY)
WAVE_STATUS = {
    domain.SCHEDULED: pb.WAVE_STATUS_SCHEDULED,
    domain.OPEN: pb.WAVE_STATUS_OPEN,
    domain.CLOSED: pb.WAVE_STATUS_CLOSED,
}
STATUS_NAMES = {value: name for name, value in WAVE_STATUS.items()}
MAX_WAVES, MAX_OPEN_DAYS = 60, 90
MAX_TOKEN_VALID_DAYS, MAX_REASON = 30, 500


def wave_message(wave: domain.Wave) -> pb.Wave:
    return pb.Wave(
        wave_id=wave.wave_id,
        survey_id=wave.survey_id,
        survey_version=wave.survey_version,
        audience_unit_id=wave.audience_unit_id,
        period=wave.period,
        opens_at=rfc3339(domain.start_of(wave.opens_on)),
        closes_at=rfc3339(domain.start_of(wave.closes_on)),
        status=WAVE_STATUS[wave.status],
        invited=wave.invited,
        cadence=pb.Cadence.ValueType(wave.cadence),
        rotation_items_per_person=wave.rotation,
        reminder_rounds=wave.reminder_rounds,
    )


def _schedule_request(request: pb.ScheduleWaveRequest) -> waves.ScheduleRequest:
    if not 1 <= request.count <= MAX_WAVES:
        raise InvalidArgument("count", f"must be between 1 and {MAX_WAVES}")
    if not 1 <= request.open_days <= MAX_OPEN_DAYS:
        raise InvalidArgument("open_days", f"must be between 1 and {MAX_OPEN_DAYS}")
    if request.rotation_items_per_person < 0:
        raise InvalidArgument("rotation_items_per_person", "must not be negative")
    return waves.ScheduleRequest(
        survey_id=survey_id_of("survey_id", request.survey_id),
        audience_unit_id=require_unit_id("audience_unit_id", request.audience_unit_id),
        cadence=require_enum("cadence", request.cadence, CADENCES),
        first_opens_on=parse_date("first_opens_on", request.first_opens_on),
        count=request.count,
        open_days=request.open_days,
        rotation=request.rotation_items_per_person,
    )


def _backfill_request(request: pb.BackfillWaveRequest) -> wave_backfill.BackfillRequest:
    if not 1 <= request.open_days <= MAX_OPEN_DAYS:
        raise InvalidArgument("open_days", f"must be between 1 and {MAX_OPEN_DAYS}")
    if not 1 <= request.token_valid_days <= MAX_TOKEN_VALID_DAYS:
        raise InvalidArgument("token_valid_days", f"must be between 1 and {MAX_TOKEN_VALID_DAYS}")
    reason = request.reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidArgument("reason", f"must say why, in at most {MAX_REASON} characters")
    return wave_backfill.BackfillRequest(
        survey_id=survey_id_of("survey_id", request.survey_id),
        audience_unit_id=require_unit_id("audience_unit_id", request.audience_unit_id),
        opens_on=parse_date("opens_on", request.opens_on),
        open_days=request.open_days,
        token_valid_days=request.token_valid_days,
        reason=reason,
    )


class WavesServicer(AreaServicer):
    async def ScheduleWave(  # noqa: N802
        self, request: pb.ScheduleWaveRequest, context: Context
    ) -> pb.ScheduleWaveResponse:
        scheduled = await waves.schedule(self.deps, _schedule_request(request))
        return pb.ScheduleWaveResponse(waves=[wave_message(w) for w in scheduled])

    async def OpenWave(  # noqa: N802
        self, request: pb.OpenWaveRequest, context: Context
    ) -> pb.OpenWaveResponse:
        opened = await waves.open_wave(self.deps, wave_id_of("wave_id", request.wave_id))
        return pb.OpenWaveResponse(
            wave=wave_message(opened.wave),
            invitations_issued=opened.issued,
            suppressed_by_contact_budget=opened.suppressed,
        )

    async def BackfillWave(  # noqa: N802
        self, request: pb.BackfillWaveRequest, context: Context
    ) -> pb.BackfillWaveResponse:
        """Admin only (``rpc_roles``); audited under the caller's verified identity."""
        parsed = _backfill_request(request)
        done = await wave_backfill.backfill(self.deps, parsed, current_caller().viewer_id)
        return pb.BackfillWaveResponse(
            wave=wave_message(done.wave),
            invitations_issued=done.issued,
            tokens_expire_at=rfc3339(done.tokens_expire_at),
        )

    async def CloseWave(  # noqa: N802
        self, request: pb.CloseWaveRequest, context: Context
    ) -> pb.CloseWaveResponse:
        closed = await waves.close_wave(self.deps, wave_id_of("wave_id", request.wave_id))
        return pb.CloseWaveResponse(wave=wave_message(closed))

    async def ListWaves(  # noqa: N802
        self, request: pb.ListWavesRequest, context: Context
    ) -> pb.ListWavesResponse:
        survey_id = survey_id_of("survey_id", request.survey_id, required=False)
        status = ""
        if request.status:
            require_enum("status", request.status, tuple(STATUS_NAMES))
            status = STATUS_NAMES[request.status]
        found = await waves.list_waves(self.deps, survey_id, status)
        return pb.ListWavesResponse(waves=[wave_message(w) for w in found])

    async def SendReminders(  # noqa: N802
        self, request: pb.SendRemindersRequest, context: Context
    ) -> pb.SendRemindersResponse:
        wave_id = wave_id_of("wave_id", request.wave_id)
        sent = await wave_followup.send_reminders(self.deps, wave_id)
        return pb.SendRemindersResponse(
            reminders_sent=sent.sent, held_back_by_contact_budget=sent.held_back
        )

    async def GetResponseRates(  # noqa: N802
        self, request: pb.GetResponseRatesRequest, context: Context
    ) -> pb.GetResponseRatesResponse:
        """Per-unit participation of a wave, released only for units where at least k people
        were invited (k locked at opening); smaller units come back suppressed with zeros.
        ``responded`` counts redeemed tokens. The full rule is ``domain.response_rates``."""
        wave_id = wave_id_of("wave_id", request.wave_id)
        # The caller's scope, from its verified token: rates of units outside it are left out.
        rates, k = await wave_followup.response_rates(self.deps, wave_id, current_caller().scope)
        return pb.GetResponseRatesResponse(
            rates=[pb.ResponseRate(**dataclasses.asdict(rate)) for rate in rates],
            min_group_size=k,
        )
