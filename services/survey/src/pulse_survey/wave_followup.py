"""After a wave opened: reminders for those who have not answered (by hand, or
automatically at ``PULSE_REMINDER_OFFSETS_DAYS`` before the wave closes), and response
rates released only for groups of at least k."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from pulse_common.errors import FailedPrecondition, NotFound, PermissionDenied
from pulse_common.uow import UnitOfWork

from pulse_survey import budget, cadence, domain, invitation_repository, invitations
from pulse_survey import wave_repository as repo
from pulse_survey.context import Deps
from pulse_survey.domain import OPEN, NewInvitation, Wave, subtree
from pulse_survey.invitation_repository import Reminder
from pulse_survey.org import units_as_of
from pulse_survey.waves import locked_wave

# No one is reminded twice within this time, however the rounds fall.
REMINDER_SPACING = timedelta(hours=20)


@dataclass(frozen=True)
class RemindersSent:
    sent: int
    held_back: int  # another survey asked them since their invitation (contact budget)


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
        expires_at=invitation.expires_at,
        contact=reminder.email,
        language=invitation.language,
    )


async def _round(uow: UnitOfWork, deps: Deps, wave: Wave) -> RemindersSent:
    """One reminder round inside the caller's unit of work: a fresh link for everyone who
    has not answered, at most ``max_reminders`` times each and not twice within
    ``REMINDER_SPACING``; people since deactivated are skipped, and so is anyone another
    survey asked after their invitation (a reminder would break the contact budget). A
    reminder belongs to the wave's one ask: it does not stamp the budget again."""
    now = deps.now()
    wave_id = uuid.UUID(wave.wave_id)
    due = await invitation_repository.due_for_reminder(
        uow.conn, wave_id, now, deps.settings.reminders.max_reminders, now - REMINDER_SPACING
    )
    held: set[str] = set()
    if deps.settings.common.contact_budget_days > 0:
        people = [(reminder.email, reminder.issued_on) for reminder in due]
        held = await budget.asked_since(uow.conn, deps.settings.common.hmac_secret, people)
    sending = [reminder for reminder in due if reminder.email not in held]
    for reminder in sending:
        number = reminder.invitation.reminders_sent + 1
        await invitations.remind(uow, reminder.invitation.invitation_id, _mailing(reminder), number)
    await invitation_repository.mark_reminded(
        uow.conn, [reminder.invitation.invitation_id for reminder in sending], now
    )
    return RemindersSent(len(sending), len(due) - len(sending))


async def send_reminders(deps: Deps, wave_id: uuid.UUID) -> RemindersSent:
    """A reminder round by hand (``SendReminders``); it counts as one of the wave's rounds."""
    async with deps.db.unit_of_work() as uow:
        wave = await locked_wave(uow.conn, wave_id)
        if wave.status != OPEN:
            raise FailedPrecondition(f"wave is {wave.status}; reminders need an open wave")
        sent = await _round(uow, deps, wave)
        await repo.set_reminder_rounds(uow.conn, wave_id, wave.reminder_rounds + 1)
    return sent


def rounds_due(deps: Deps, wave: Wave) -> int:
    """Automatic rounds due today (at most ``max_reminders``)."""
    policy = deps.settings.reminders
    due = cadence.reminder_rounds_due(wave.closes_on, deps.today(), policy.offsets_days)
    return min(due, policy.max_reminders)


async def send_due_reminders(deps: Deps, wave_id: uuid.UUID) -> RemindersSent | None:
    """The scheduler's reminders: one round when an offset's day has come and the wave has
    had fewer rounds than offsets passed (a round missed while the service was down is
    not made up twice); None when no round is due."""
    async with deps.db.unit_of_work() as uow:
        wave = await locked_wave(uow.conn, wave_id)
        due = rounds_due(deps, wave)
        if wave.status != OPEN or wave.closes_on <= deps.today() or wave.reminder_rounds >= due:
            return None
        sent = await _round(uow, deps, wave)
        await repo.set_reminder_rounds(uow.conn, wave_id, due)
    return sent


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
