"""Backfill: a one-off wave of an employee survey for a PAST period (issue 19), so that history
goes through the same redeem/submit/count path as a live wave instead of an import.

Only an admin may call it (``rpc_roles``: BackfillWave); every backfilled wave gets an audit
row (``wave_backfills``: who, why, when, until when its tokens work) and a log line. The wave
is scheduled and opened in one unit of work: its dates lie in the past (ScheduleWave refuses
them), its invitations carry an explicit expiry ``token_valid_days`` from now instead of the
closing day, and the contact budget is neither consulted nor stamped (the answers belong to
a period that is over; they must not hold back today's waves). The wave stays open until
CloseWave (which publishes ``pulse.wave.closed``, so the response service writes the held
answers) or until its tokens expire (the scheduler closes it then)."""

from __future__ import annotations

import logging
import random
import uuid
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse_common import measures, subjects
from pulse_common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from pulse_common.periods import label_of

from pulse_survey import events, invitations, roster_repository, survey_repository
from pulse_survey import wave_repository as repo
from pulse_survey.context import Deps
from pulse_survey.domain import Wave, subtree
from pulse_survey.org import units_as_of
from pulse_survey.surveys import published_version
from pulse_survey.waves import _invitees

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackfillRequest:
    survey_id: str
    audience_unit_id: str
    opens_on: date
    open_days: int
    token_valid_days: int
    reason: str


@dataclass(frozen=True)
class Backfilled:
    wave: Wave
    issued: int
    tokens_expire_at: datetime


async def backfill(deps: Deps, request: BackfillRequest, requested_by: str) -> Backfilled:
    """Schedule and open a wave that closed before today, audited under ``requested_by``."""
    closes_on = request.opens_on + timedelta(days=request.open_days)
    if closes_on > deps.today():
        raise InvalidArgument(
            "opens_on",
            f"the wave would be open until {closes_on.isoformat()}: a backfilled wave must"
            " have closed by today (schedule current waves with ScheduleWave)",
        )
    expires_at = deps.now() + timedelta(days=request.token_valid_days)
    sid = uuid.UUID(request.survey_id)
    period = label_of(request.opens_on, deps.settings.common.period)
    async with deps.db.unit_of_work() as uow:
        kind = await survey_repository.kind_of(uow.conn, sid, for_update=True)
        if kind is None:
            raise NotFound(f"survey {request.survey_id} does not exist")
        if measures.is_customer(kind):
            raise FailedPrecondition("customer surveys are sent per interaction, not in waves")
        definition, rated_unit = await published_version(uow.conn, request.survey_id)
        units = await units_as_of(uow.conn, request.opens_on)
        if request.audience_unit_id not in units:
            raise NotFound(f"audience_unit_id: unit {request.audience_unit_id} did not exist")
        dates = [(request.opens_on, closes_on)]
        clash = await repo.overlapping(uow.conn, sid, request.audience_unit_id, dates)
        if clash is not None:
            raise AlreadyExists(
                f"this survey already has a wave for this audience open from {clash.isoformat()}"
            )
        wave = await repo.insert(
            uow.conn,
            repo.NewWave(
                survey_id=sid,
                survey_version=definition.version,
                audience_unit_id=request.audience_unit_id,
                period=period,
                opens_on=request.opens_on,
                closes_on=closes_on,
                cadence=survey_pb.CADENCE_ONCE,
                rotation=0,
            ),
        )
        audience = subtree(units, wave.audience_unit_id) - ({rated_unit} if rated_unit else set())
        people = await roster_repository.active_in(uow.conn, sorted(audience), wave.opens_on)
        random.SystemRandom().shuffle(people)  # invitation ids say nothing about who is who
        keyed = [(person, "") for person in people]
        invitees = _invitees(wave, definition, keyed, set(), budget_on=False)
        batch = [replace(new, expires_at=expires_at) for new in invitees.batch]
        await invitations.issue(uow, batch)
        opened = await repo.mark_open(
            uow.conn,
            uuid.UUID(wave.wave_id),
            definition.version,
            definition.min_group_size,
            len(batch),
        )
        await repo.record_backfill(uow.conn, wave.wave_id, requested_by, request.reason, expires_at)
        await uow.enqueue(
            subjects.WAVE_OPENED,
            events.wave_opened(opened, Counter(new.unit_id for new in batch), backfill=True),
            msg_id=events.wave_opened_msg_id(opened),
        )
    log.info(
        "backfill: %s opened wave %s of survey %s for %s (audience %s, %d invitations,"
        " tokens until %s): %s",
        requested_by,
        opened.wave_id,
        opened.survey_id,
        opened.period,
        opened.audience_unit_id,
        len(batch),
        expires_at.isoformat(),
        request.reason,
    )
    return Backfilled(opened, len(batch), expires_at)
