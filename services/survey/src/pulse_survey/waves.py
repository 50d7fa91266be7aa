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

from pulse_survey import (
    budget,
    cadence,
    domain,
    events,
    invitations,
    roster_repository,
    survey_repository,
)
from pulse_survey import wave_repository as repo
from pulse_survey.context import Deps
from pulse_survey.definitions import optional_item_ids
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


def _check_budget_fits(deps: Deps, request: ScheduleRequest) -> None:
    """Waves closer together than an explicitly set contact budget would hold back everyone
    the previous wave asked."""
    budget_days = deps.settings.common.contact_budget_days
    spacing = cadence.cadence_spacing(request.cadence)
    explicit = deps.settings.budget_explicit
    if request.count > 1 and spacing is not None and explicit and budget_days > spacing:
        raise InvalidArgument(
            "cadence",
            f"waves {spacing} days apart would hold back everyone the previous wave asked"
            f" (PULSE_CONTACT_BUDGET_DAYS is {budget_days}); use a longer cadence or a"
            " budget of at most the spacing",
        )


def _check_pooled_k(deps: Deps, every: int, survey_k: int) -> None:
    """Several waves in one period pool a person's answers up to once per wave: the survey's
    k must grow with the waves per period (``domain.pooled_k``)."""
    granularity = deps.settings.common.period
    needed = cadence.pooled_k(deps.settings.common.min_group_size, every, granularity)
    if survey_k < needed:
        per_period = cadence.waves_per_period(every, granularity)
        raise InvalidArgument(
            "cadence",
            f"puts up to {per_period} waves in one {granularity}, whose answers are pooled:"
            f" one person can count {per_period} times in a group, so the survey needs"
            f" min_group_size of at least {needed} (it has {survey_k}) for every released"
            f" group to hold {deps.settings.common.min_group_size} people; publish a version"
            f" with that k or use a cadence of one wave per {granularity}",
        )


async def schedule(deps: Deps, request: ScheduleRequest) -> list[Wave]:
    """Waves at the cadence. Several waves may fall in one reporting period (weekly waves
    under monthly periods): each is labelled with the period it opens in, the period's
    answers are pooled, and a person answers each wave at most once. Waves of one survey
    and audience never overlap in time."""
    dates = domain.wave_dates(
        request.cadence, request.first_opens_on, request.count, request.open_days
    )
    _check_budget_fits(deps, request)
    if dates[0][1] <= deps.today():
        raise InvalidArgument(
            "first_opens_on",
            f"a wave opening {request.first_opens_on.isoformat()} would have closed by today;"
            " a past period goes in through BackfillWave (admin, audited)",
        )
    periods = [label_of(opens, deps.settings.common.period) for opens, _ in dates]
    sid = uuid.UUID(request.survey_id)
    async with deps.db.unit_of_work() as uow:
        kind = await survey_repository.kind_of(uow.conn, sid, for_update=True)
        if kind is None:
            raise NotFound(f"survey {request.survey_id} does not exist")
        if measures.is_customer(kind):
            raise FailedPrecondition("customer surveys are sent per interaction, not in waves")
        definition, _ = await published_version(uow.conn, request.survey_id)
        _check_pooled_k(deps, request.cadence, definition.min_group_size)
        if request.rotation and request.rotation >= len(optional_item_ids(definition)):
            raise InvalidArgument(
                "rotation_items_per_person", "must be below the number of optional items"
            )
        if request.audience_unit_id not in await units_as_of(uow.conn, request.first_opens_on):
            raise NotFound(f"audience_unit_id: unit {request.audience_unit_id} does not exist")
        clash = await repo.overlapping(uow.conn, sid, request.audience_unit_id, dates)
        if clash is not None:
            raise AlreadyExists(
                f"this survey already has a wave for this audience open from {clash.isoformat()}"
            )
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
    shared mailbox is asked once. The items each is asked are not chosen here: they derive
    from the token when it is inspected (``rotation``)."""
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
                expires_at=domain.start_of(wave.closes_on),
                contact=person.email,
                language=person.language,
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
        # Random order: invitation ids say nothing about who is who.
        random.SystemRandom().shuffle(people)
        # One budget key per employee (see ``budget``): their normalised email.
        keyed = [(p, budget.employee_keys(common.hmac_secret, p.email)[0]) for p in people]
        budget_days = cadence.wave_budget_days(
            common.contact_budget_days, deps.settings.budget_explicit, wave.cadence
        )
        recent = await budget.recently_contacted(
            uow.conn, [key for _, key in keyed], today, budget_days
        )
        invitees = _invitees(wave, definition, keyed, recent, budget_on=budget_days > 0)
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
