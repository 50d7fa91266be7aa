"""After a wave opened: reminders for those who have not answered, and response rates
released only for groups of at least k."""

from __future__ import annotations

import uuid
from datetime import timedelta

from pulse_common.errors import FailedPrecondition, NotFound, PermissionDenied

from pulse_survey import domain, invitation_repository, invitations
from pulse_survey import wave_repository as repo
from pulse_survey.context import Deps
from pulse_survey.domain import OPEN, NewInvitation, subtree
from pulse_survey.invitation_repository import Reminder
from pulse_survey.org import units_as_of
from pulse_survey.waves import locked_wave

MAX_REMINDERS = 3
REMINDER_SPACING = timedelta(hours=20)


def _mailing(reminder: Reminder) -> NewInvitation:
    """The invitation again, to the person's current address (no pseudonym is mailed)."""
    invitation = reminder.invitation
    return NewInvitation(
        survey_id=invitation.survey_id,
        survey_version=invitation.survey_version,
        kind=invitation.kind,
        wave_id=invitation.wave_id,
        person_pseudonym="",
        interaction_id="",
        unit_id=invitation.unit_id,
        period=invitation.period,
        channel=invitation.channel,
        item_ids=invitation.item_ids,
        expires_at=invitation.expires_at,
        contact=reminder.email,
    )


async def send_reminders(deps: Deps, wave_id: uuid.UUID) -> int:
    """A fresh link for everyone not yet answered, at most ``MAX_REMINDERS`` times and not
    twice within ``REMINDER_SPACING``; people since deactivated are skipped."""
    now = deps.now()
    async with deps.db.unit_of_work() as uow:
        wave = await locked_wave(uow.conn, wave_id)
        if wave.status != OPEN:
            raise FailedPrecondition(f"wave is {wave.status}; reminders need an open wave")
        due = await invitation_repository.due_for_reminder(
            uow.conn, wave_id, now, MAX_REMINDERS, now - REMINDER_SPACING
        )
        for reminder in due:
            number = reminder.invitation.reminders_sent + 1
            await invitations.remind(
                uow, reminder.invitation.invitation_id, _mailing(reminder), number
            )
        await invitation_repository.mark_reminded(
            uow.conn, [reminder.invitation.invitation_id for reminder in due], now
        )
    return len(due)


async def response_rates(
    deps: Deps, wave_id: uuid.UUID, scope_unit_id: str
) -> tuple[list[domain.Rate], int]:
    """Per-unit participation of a wave under the rule of ``domain.response_rates``, for
    the units inside the viewer's scope (the org as it stood when the wave opened)."""
    async with deps.db.connection() as conn:
        wave = await repo.get(conn, wave_id)
        if wave is None:
            raise NotFound(f"wave {wave_id} does not exist")
        if wave.min_group_size is None:
            raise FailedPrecondition("the wave has not opened yet")
        counts = await invitation_repository.counts_by_unit(conn, wave_id)
        if scope_unit_id:
            units = await units_as_of(conn, wave.opens_on)
            if scope_unit_id not in units:
                raise PermissionDenied(f"viewer scope {scope_unit_id} is not in the org")
            visible = subtree(units, scope_unit_id)
            counts = {unit: value for unit, value in counts.items() if unit in visible}
    return domain.response_rates(counts, wave.min_group_size), wave.min_group_size
