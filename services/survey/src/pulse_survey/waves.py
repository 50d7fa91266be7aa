"""Waves of an employee (or internal service) survey: schedule, open (issue one token per
active person in the audience, within the contact budget), close and list. Reminders and
response rates are in ``wave_followup``, the timer in ``wave_scheduler``."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pulse.types.v1 import types_pb2
from pulse_common import measures, subjects
from pulse_common.db import Connection
from pulse_common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from pulse_common.periods import label_of

from pulse_survey import budget, domain, events, invitations, roster_repository, survey_repository
from pulse_survey import wave_repository as repo
from pulse_survey.context import Deps
from pulse_survey.definitions import item_ids, optional_item_ids
from pulse_survey.domain import CLOSED, SCHEDULED, NewInvitation, Wave, subtree
from pulse_survey.org import units_as_of
from pulse_survey.roster_plan import Person
from pulse_survey.surveys import published_version


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
    granularity = deps.settings.common.period
    periods = [label_of(opens, granularity) for opens, _ in dates]
    if len(set(periods)) != len(periods):
        # Two waves in one period would count the same people twice in its aggregates.
        raise InvalidArgument(
            "cadence", f"puts two waves in one {granularity}; use a longer cadence"
        )
    sid = uuid.UUID(request.survey_id)
    async with deps.db.unit_of_work() as uow:
        kind = await survey_repository.kind_of(uow.conn, sid, for_update=True)
        if kind is None:
            raise NotFound(f"survey {request.survey_id} does not exist")
        if measures.is_customer(kind):
            raise FailedPrecondition("customer surveys are sent per interaction, not in waves")
        definition, _ = await published_version(uow.conn, request.survey_id)
        if request.rotation and request.rotation >= len(optional_item_ids(definition)):
            raise InvalidArgument(
                "rotation_items_per_person", "must be below the number of optional items"
            )
        if request.audience_unit_id not in await units_as_of(uow.conn, request.first_opens_on):
            raise NotFound(f"audience_unit_id: unit {request.audience_unit_id} does not exist")
        clash = await repo.period_taken(uow.conn, sid, request.audience_unit_id, periods)
        if clash is not None:
            raise AlreadyExists(f"this survey already has a wave for this audience in {clash}")
        return [
            await repo.insert(
                uow.conn,
                repo.NewWave(
                    survey_id=sid,
                    survey_version=definition.version,
                    audience_unit_id=request.audience_unit_id,
                    period=period,
                    opens_on=opens,
                    closes_on=closes,
                    cadence=request.cadence,
                    rotation=request.rotation,
                ),
            )
            for (opens, closes), period in zip(dates, periods, strict=True)
        ]


async def locked_wave(conn: Connection, wave_id: uuid.UUID) -> Wave:
    """The wave, locked until the caller's unit of work ends."""
    wave = await repo.get(conn, wave_id, for_update=True)
    if wave is None:
        raise NotFound(f"wave {wave_id} does not exist")
    return wave


@dataclass(frozen=True)
class Opened:
    wave: Wave
    issued: int
    suppressed: int


@dataclass(frozen=True)
class _Invitees:
    batch: list[NewInvitation]
    contacts: list[str]  # budget keys of those invited, to stamp
    suppressed: int  # asked too recently (contact budget)


def _invitees(
    wave: Wave,
    definition: types_pb2.SurveyDefinition,
    people: Sequence[tuple[Person, str]],
    recent: set[str],
    *,
    budget_on: bool,
) -> _Invitees:
    """One invitation per person (with their budget key) not contacted recently; a
    shared mailbox is asked once. Rotation slots follow the order of ``people``."""
    rotatable, every_item = optional_item_ids(definition), item_ids(definition)
    batch: list[NewInvitation] = []
    contacts: list[str] = []
    recent = set(recent)
    for person, contact in people:
        if contact in recent:
            continue
        if budget_on:
            recent.add(contact)
        contacts.append(contact)
        batch.append(
            NewInvitation(
                survey_id=wave.survey_id,
                survey_version=definition.version,
                kind=int(definition.kind),
                wave_id=wave.wave_id,
                person_pseudonym=person.pseudonym,
                interaction_id="",
                unit_id=person.unit_id,
                period=wave.period,
                channel="email",
                item_ids=domain.rotation_for(every_item, rotatable, wave.rotation, len(batch)),
                expires_at=domain.start_of(wave.closes_on),
                contact=person.email,
            )
        )
    return _Invitees(batch, contacts, len(people) - len(batch))


async def open_wave(deps: Deps, wave_id: uuid.UUID) -> Opened:
    today = deps.today()
    common = deps.settings.common
    async with deps.db.unit_of_work() as uow:
        wave = await locked_wave(uow.conn, wave_id)
        if wave.status != SCHEDULED:
            raise FailedPrecondition(f"wave is {wave.status}, not scheduled")
        if wave.closes_on <= today:
            raise FailedPrecondition("the wave's closing date has passed; schedule a new one")
        # The version asked is pinned when the wave opens: the latest published one.
        definition, rated_unit = await published_version(uow.conn, wave.survey_id)
        units = await units_as_of(uow.conn, wave.opens_on)
        if wave.audience_unit_id not in units:
            raise FailedPrecondition(f"audience unit {wave.audience_unit_id} no longer exists")
        audience = subtree(units, wave.audience_unit_id) - ({rated_unit} if rated_unit else set())
        people = await roster_repository.active_in(uow.conn, sorted(audience), wave.opens_on)
        # Random order: invitation ids and rotation slots say nothing about who is who.
        random.SystemRandom().shuffle(people)
        # One budget key per employee (see ``budget``): their normalised email.
        keyed = [(p, budget.employee_keys(common.hmac_secret, p.email)[0]) for p in people]
        recent = await budget.recently_contacted(
            uow.conn, [key for _, key in keyed], today, common.contact_budget_days
        )
        invitees = _invitees(
            wave, definition, keyed, recent, budget_on=common.contact_budget_days > 0
        )
        await invitations.issue(uow, invitees.batch)
        await budget.stamp(uow.conn, invitees.contacts, today)
        opened = await repo.mark_open(
            uow.conn, wave_id, definition.version, definition.min_group_size, len(invitees.batch)
        )
        invited_by_unit = Counter(new.unit_id for new in invitees.batch)
        await uow.enqueue(
            subjects.WAVE_OPENED,
            events.wave_opened(opened, invited_by_unit),
            msg_id=events.wave_opened_msg_id(opened),
        )
    return Opened(opened, len(invitees.batch), invitees.suppressed)


async def close_wave(deps: Deps, wave_id: uuid.UUID) -> Wave:
    async with deps.db.unit_of_work() as uow:
        wave = await locked_wave(uow.conn, wave_id)
        if wave.status == CLOSED:
            raise FailedPrecondition("wave is already closed")
        closed = await repo.mark_closed(uow.conn, wave_id)
        await uow.enqueue(
            subjects.WAVE_CLOSED, events.wave_closed(wave), msg_id=events.wave_closed_msg_id(wave)
        )
    return closed


async def list_waves(deps: Deps, survey_id: str, status: str) -> list[Wave]:
    """Waves of a survey ("" = any) in a status ("" = any), in opening order."""
    async with deps.db.connection() as conn:
        return await repo.find(conn, uuid.UUID(survey_id) if survey_id else None, status)
