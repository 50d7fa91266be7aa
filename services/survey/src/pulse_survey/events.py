"""The events the survey service publishes (through the outbox), built from its records,
with the message ids that make each one exactly-once. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping

from pulse.events.v1 import events_pb2
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2
from pulse_common.fields import rfc3339

from pulse_survey.domain import NewInvitation, UnitVersion, Wave, start_of

LINK_PREFIX = "/s/"


def org_changed(
    unit: UnitVersion, change: str, merged_into: str, org_version: int
) -> events_pb2.OrgChanged:
    return events_pb2.OrgChanged(
        unit_id=unit.unit_id,
        parent_id=unit.parent_id,
        name=unit.name,
        unit_type=survey_pb.UnitType.Name(survey_pb.UnitType.ValueType(unit.unit_type)),
        valid_from=unit.valid_from.isoformat(),
        valid_to=unit.valid_to.isoformat() if unit.valid_to else "",
        change=change,
        merged_into=merged_into,
        org_version=org_version,
    )


def org_msg_id(org_version: int) -> str:
    return f"org:{org_version}"


def survey_msg_id(survey_id: str, version: int) -> str:
    return f"survey:{survey_id}:{version}"


def invitation_issued(
    invitation_id: str, new: NewInvitation, token: str, *, mailing: int
) -> events_pb2.InvitationIssued:
    """Carries the raw token to the delivery adapter (only its hash is stored); ``mailing``
    is 0 for the invitation, 1.. for its reminders."""
    return events_pb2.InvitationIssued(
        invitation_id=invitation_id,
        survey_id=new.survey_id,
        survey_version=new.survey_version,
        kind=types_pb2.SurveyKind.ValueType(new.kind),
        wave_id=new.wave_id,
        interaction_id=new.interaction_id,
        contact=new.contact,
        token=token,
        expires_at=rfc3339(new.expires_at),
        link_path=f"{LINK_PREFIX}{token}",
        reminder=mailing > 0,
        language=new.language,
        channel=new.channel,
        mailing=mailing,
    )


def issued_msg_id(invitation_id: str, reminder_number: int) -> str:
    """One message per (invitation, mailing): 0 is the invitation, 1.. the reminders."""
    return f"invitation:{invitation_id}:{reminder_number}"


def wave_opened(
    wave: Wave, invited_by_unit: Mapping[str, int], *, backfill: bool = False
) -> events_pb2.WaveOpened:
    return events_pb2.WaveOpened(
        wave_id=wave.wave_id,
        survey_id=wave.survey_id,
        survey_version=wave.survey_version,
        period=wave.period,
        audience_unit_id=wave.audience_unit_id,
        opens_at=rfc3339(start_of(wave.opens_on)),
        closes_at=rfc3339(start_of(wave.closes_on)),
        invited_by_unit=invited_by_unit,
        backfill=backfill,
    )


def wave_opened_msg_id(wave: Wave) -> str:
    return f"wave-opened:{wave.wave_id}"


def wave_closed(wave: Wave) -> events_pb2.WaveClosed:
    return events_pb2.WaveClosed(wave_id=wave.wave_id, survey_id=wave.survey_id, period=wave.period)


def wave_closed_msg_id(wave: Wave) -> str:
    return f"wave-closed:{wave.wave_id}"
