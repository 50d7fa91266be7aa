"""Waves of an employee (or internal service) survey: schedule, open (issue one token per
active person in the audience, within the contact budget), remind, close, and response
rates released only for groups of at least k."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from pulse.events.v1 import events_pb2
from pulse_common import outbox, subjects
from pulse_common.db import Connection
from pulse_common.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)

from pulse_survey import (
    budget,
    domain,
    invitation_repository,
    invitations,
    roster_repository,
    survey_repository,
)
from pulse_survey import wave_repository as repo
from pulse_survey.context import Deps
from pulse_survey.domain import CLOSED, OPEN, SCHEDULED, NewInvitation, Wave, subtree
from pulse_survey.org import units_as_of
from pulse_survey.surveys import published_version

log = logging.getLogger(__name__)

MAX_REMINDERS = 3
REMINDER_SPACING = timedelta(hours=20)


def parse_wave_id(field: str, value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument(field, "must be a wave id (UUID)") from None


@dataclass(frozen=True)
class ScheduleRequest:
    survey_id: str
    audience_unit_id: str
    cadence: int
    first_opens_on: date
    count: int
    open_days: int
    rotation: int


async def schedule(deps: Deps, request: ScheduleRequest) -> list[Wave]:
    dates = domain.wave_dates(
        request.cadence, request.first_opens_on, request.count, request.open_days
    )
    periods = [domain.period_of(opens, deps.settings.period) for opens, _ in dates]
    if len(set(periods)) != len(periods):
        # Two waves in one period would count the same people twice in its aggregates.
        raise InvalidArgument(
            "cadence", f"puts two waves in one {deps.settings.period}; use a longer cadence"
        )
    async with deps.transaction() as conn:
        sid = uuid.UUID(request.survey_id)
        kind = await survey_repository.kind_of(conn, sid, for_update=True)
        if kind is None:
            raise NotFound(f"survey {request.survey_id} does not exist")
        if kind == domain.CUSTOMER:
            raise FailedPrecondition("customer surveys are sent per interaction, not in waves")
        definition, _ = await published_version(conn, request.survey_id)
        if request.rotation and request.rotation >= sum(
            1 for i in definition.items if not i.required
        ):
            raise InvalidArgument(
                "rotation_items_per_person", "must be below the number of optional items"
            )
        if request.audience_unit_id not in await units_as_of(conn, request.first_opens_on):
            raise NotFound(f"audience_unit_id: unit {request.audience_unit_id} does not exist")
        clash = await repo.period_taken(conn, sid, request.audience_unit_id, periods)
        if clash is not None:
            raise AlreadyExists(f"this survey already has a wave for this audience in {clash}")
        return [
            await repo.insert(
                conn,
                sid,
                definition.version,
                request.audience_unit_id,
                period,
                opens,
                closes,
                request.cadence,
                request.rotation,
            )
            for (opens, closes), period in zip(dates, periods, strict=True)
        ]


async def _locked(conn: Connection, wave_id: uuid.UUID) -> Wave:
    wave = await repo.get(conn, wave_id, for_update=True)
    if wave is None:
        raise NotFound(f"wave {wave_id} does not exist")
    return wave


@dataclass(frozen=True)
class Opened:
    wave: Wave
    issued: int
    suppressed: int


async def open_wave(deps: Deps, wave_id: uuid.UUID) -> Opened:
    today = deps.today()
    async with deps.transaction() as conn:
        wave = await _locked(conn, wave_id)
        if wave.status != SCHEDULED:
            raise FailedPrecondition(f"wave is {wave.status}, not scheduled")
        if wave.closes_on <= today:
            raise FailedPrecondition("the wave's closing date has passed; schedule a new one")
        # The version asked is pinned when the wave opens: the latest published one.
        definition, rated_unit = await published_version(conn, wave.survey_id)
        k = definition.min_group_size
        units = await units_as_of(conn, wave.opens_on)
        if wave.audience_unit_id not in units:
            raise FailedPrecondition(f"audience unit {wave.audience_unit_id} no longer exists")
        audience = subtree(units, wave.audience_unit_id) - ({rated_unit} if rated_unit else set())
        people = await roster_repository.active_in(conn, sorted(audience), wave.opens_on)
        # Random order: invitation ids and rotation slots say nothing about who is who.
        random.SystemRandom().shuffle(people)
        # One budget key per employee (see ``budget``): their normalised email.
        contacts = [budget.employee_keys(deps.settings.hmac_secret, p["email"])[0] for p in people]
        budget_days = deps.settings.contact_budget_days
        recent = await budget.recently_contacted(conn, contacts, today, budget_days)
        rotatable = [item.item_id for item in definition.items if not item.required]
        all_items = [item.item_id for item in definition.items]
        expires_at = domain.start_of(wave.closes_on)
        batch: list[NewInvitation] = []
        asked: list[str] = []
        suppressed = 0
        for person, contact in zip(people, contacts, strict=True):
            if contact in recent:
                suppressed += 1
                continue
            if budget_days > 0:
                recent.add(contact)  # a shared mailbox is asked once
            asked.append(contact)
            batch.append(
                NewInvitation(
                    survey_id=wave.survey_id,
                    survey_version=definition.version,
                    kind=int(definition.kind),
                    wave_id=wave.wave_id,
                    person_pseudonym=person["pseudonym"],
                    interaction_id="",
                    unit_id=person["unit_id"],
                    period=wave.period,
                    channel="email",
                    item_ids=domain.rotation_for(all_items, rotatable, wave.rotation, len(batch)),
                    expires_at=expires_at,
                    contact=person["email"],
                )
            )
        await invitations.issue(conn, batch)
        await budget.stamp(conn, asked, today)
        invited_by_unit: dict[str, int] = {}
        for new in batch:
            invited_by_unit[new.unit_id] = invited_by_unit.get(new.unit_id, 0) + 1
        opened = await repo.mark_open(conn, wave_id, definition.version, k, len(batch))
        await outbox.enqueue(
            conn,
            subjects.WAVE_OPENED,
            events_pb2.WaveOpened(
                wave_id=opened.wave_id,
                survey_id=opened.survey_id,
                survey_version=opened.survey_version,
                period=opened.period,
                audience_unit_id=opened.audience_unit_id,
                opens_at=domain.rfc3339(domain.start_of(opened.opens_on)),
                closes_at=domain.rfc3339(expires_at),
                invited_by_unit=invited_by_unit,
            ),
            msg_id=f"wave-opened:{opened.wave_id}",
        )
    deps.notify()
    return Opened(opened, len(batch), suppressed)


async def close_wave(deps: Deps, wave_id: uuid.UUID) -> Wave:
    async with deps.transaction() as conn:
        wave = await _locked(conn, wave_id)
        if wave.status == CLOSED:
            raise FailedPrecondition("wave is already closed")
        closed = await repo.mark_closed(conn, wave_id)
        await outbox.enqueue(
            conn,
            subjects.WAVE_CLOSED,
            events_pb2.WaveClosed(
                wave_id=wave.wave_id, survey_id=wave.survey_id, period=wave.period
            ),
            msg_id=f"wave-closed:{wave.wave_id}",
        )
    deps.notify()
    return closed


async def list_waves(deps: Deps, survey_id: str, status: str) -> list[Wave]:
    return await repo.find(deps.pool, uuid.UUID(survey_id) if survey_id else None, status)


async def send_reminders(deps: Deps, wave_id: uuid.UUID) -> int:
    """A fresh link for everyone not yet answered, at most ``MAX_REMINDERS`` times and not
    twice within ``REMINDER_SPACING``; people since deactivated are skipped."""
    now = deps.now()
    async with deps.transaction() as conn:
        wave = await _locked(conn, wave_id)
        if wave.status != OPEN:
            raise FailedPrecondition(f"wave is {wave.status}; reminders need an open wave")
        rows = await invitation_repository.due_for_reminder(
            conn, wave_id, now, MAX_REMINDERS, now - REMINDER_SPACING
        )
        for row in rows:
            number = row["reminders_sent"] + 1
            new = NewInvitation(
                survey_id=str(row["survey_id"]),
                survey_version=row["survey_version"],
                kind=row["kind"],
                wave_id=wave.wave_id,
                person_pseudonym="",
                interaction_id="",
                unit_id=row["unit_id"],
                period=row["period"],
                channel=row["channel"],
                item_ids=row["item_ids"],
                expires_at=row["expires_at"],
                contact=row["email"],
            )
            await invitations.remind(conn, str(row["invitation_id"]), new, number)
        await invitation_repository.mark_reminded(conn, [row["invitation_id"] for row in rows], now)
    deps.notify()
    return len(rows)


async def response_rates(
    deps: Deps, wave_id: uuid.UUID, scope_unit_id: str
) -> tuple[list[domain.Rate], int]:
    """Per-unit participation of a wave under the rule of ``domain.response_rates``, for
    the units inside the viewer's scope (the org as it stood when the wave opened)."""
    async with deps.connection() as conn:
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


async def run_scheduler(deps: Deps, interval_s: float = 30.0) -> None:
    """Open waves whose day has come and close those whose time is up."""
    while True:
        try:
            await tick(deps)
        except Exception:  # keep the scheduler alive; the next tick retries
            log.exception("wave scheduler tick failed")
        await asyncio.sleep(interval_s)


async def tick(deps: Deps) -> None:
    today = deps.today()
    for wave_id in await repo.due_to_open(deps.pool, today):
        try:
            await open_wave(deps, wave_id)
        except DomainError as error:  # e.g. opened by hand meanwhile, or no audience unit
            log.warning("cannot open wave %s: %s", wave_id, error.message)
    for wave_id in await repo.due_to_close(deps.pool, today):
        try:
            await close_wave(deps, wave_id)
        except DomainError as error:
            log.warning("cannot close wave %s: %s", wave_id, error.message)
