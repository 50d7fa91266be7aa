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

import asyncpg
from pulse.events.v1 import events_pb2
from pulse_common import outbox, subjects
from pulse_common.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)

from pulse_survey import domain, invitations
from pulse_survey.context import Deps
from pulse_survey.org import subtree, units_as_of
from pulse_survey.surveys import published_version
from pulse_survey.tokens import contact_pseudonym

log = logging.getLogger(__name__)

SCHEDULED, OPEN, CLOSED = "scheduled", "open", "closed"
MAX_REMINDERS = 3
REMINDER_SPACING = timedelta(hours=20)


@dataclass(frozen=True)
class Wave:
    wave_id: str
    survey_id: str
    survey_version: int
    audience_unit_id: str
    period: str
    opens_on: date
    closes_on: date
    status: str
    invited: int
    cadence: int
    rotation: int
    min_group_size: int | None


def _wave(row: asyncpg.Record | None) -> Wave:
    assert row is not None  # callers pass rows they just locked or wrote
    return Wave(
        wave_id=str(row["wave_id"]),
        survey_id=str(row["survey_id"]),
        survey_version=row["survey_version"],
        audience_unit_id=row["audience_unit_id"],
        period=row["period"],
        opens_on=row["opens_on"],
        closes_on=row["closes_on"],
        status=row["status"],
        invited=row["invited"],
        cadence=row["cadence"],
        rotation=row["rotation"],
        min_group_size=row["min_group_size"],
    )


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
        kind = await conn.fetchval("SELECT kind FROM surveys WHERE survey_id = $1 FOR UPDATE", sid)
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
        clash = await conn.fetchval(
            "SELECT period FROM waves WHERE survey_id = $1 AND audience_unit_id = $2"
            " AND period = ANY($3) LIMIT 1",
            sid,
            request.audience_unit_id,
            periods,
        )
        if clash is not None:
            raise AlreadyExists(f"this survey already has a wave for this audience in {clash}")
        rows = []
        for (opens, closes), period in zip(dates, periods, strict=True):
            rows.append(
                await conn.fetchrow(
                    "INSERT INTO waves (wave_id, survey_id, survey_version, audience_unit_id,"
                    " period, opens_on, closes_on, status, cadence, rotation)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, 'scheduled', $8, $9) RETURNING *",
                    uuid.uuid4(),
                    sid,
                    definition.version,
                    request.audience_unit_id,
                    period,
                    opens,
                    closes,
                    request.cadence,
                    request.rotation,
                )
            )
    return [_wave(row) for row in rows]


async def _locked(conn: asyncpg.Connection, wave_id: uuid.UUID) -> Wave:
    row = await conn.fetchrow("SELECT * FROM waves WHERE wave_id = $1 FOR UPDATE", wave_id)
    if row is None:
        raise NotFound(f"wave {wave_id} does not exist")
    return _wave(row)


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
        people = await conn.fetch(
            "SELECT pseudonym, email, unit_id FROM people WHERE active AND unit_id = ANY($1)"
            " AND (start_date IS NULL OR start_date <= $2)"
            " AND (end_date IS NULL OR end_date >= $2)",
            list(audience),
            wave.opens_on,
        )
        people = list(people)
        # Random order: invitation ids and rotation slots say nothing about who is who.
        random.SystemRandom().shuffle(people)
        contacts = [contact_pseudonym(deps.settings.hmac_secret, p["email"]) for p in people]
        budget = deps.settings.contact_budget_days
        recent = await invitations.recently_contacted(conn, contacts, today, budget)
        rotatable = [item.item_id for item in definition.items if not item.required]
        all_items = [item.item_id for item in definition.items]
        expires_at = domain.start_of(wave.closes_on)
        batch: list[invitations.NewInvitation] = []
        asked: list[str] = []
        suppressed = 0
        for person, contact in zip(people, contacts, strict=True):
            if contact in recent:
                suppressed += 1
                continue
            if budget > 0:
                recent.add(contact)  # a shared mailbox is asked once
            asked.append(contact)
            batch.append(
                invitations.NewInvitation(
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
        await invitations.record_contacts(conn, asked, today)
        invited_by_unit: dict[str, int] = {}
        for new in batch:
            invited_by_unit[new.unit_id] = invited_by_unit.get(new.unit_id, 0) + 1
        row = await conn.fetchrow(
            "UPDATE waves SET status = 'open', survey_version = $2, min_group_size = $3,"
            " invited = $4 WHERE wave_id = $1 RETURNING *",
            wave_id,
            definition.version,
            k,
            len(batch),
        )
        opened = _wave(row)
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
        row = await conn.fetchrow(
            "UPDATE waves SET status = 'closed' WHERE wave_id = $1 RETURNING *", wave_id
        )
        await outbox.enqueue(
            conn,
            subjects.WAVE_CLOSED,
            events_pb2.WaveClosed(
                wave_id=wave.wave_id, survey_id=wave.survey_id, period=wave.period
            ),
            msg_id=f"wave-closed:{wave.wave_id}",
        )
    deps.notify()
    return _wave(row)


async def list_waves(deps: Deps, survey_id: str, status: str) -> list[Wave]:
    rows = await deps.pool.fetch(
        "SELECT * FROM waves WHERE ($1::uuid IS NULL OR survey_id = $1)"
        " AND ($2 = '' OR status = $2) ORDER BY opens_on, wave_id",
        uuid.UUID(survey_id) if survey_id else None,
        status,
    )
    return [_wave(row) for row in rows]


async def send_reminders(deps: Deps, wave_id: uuid.UUID) -> int:
    """A fresh link for everyone not yet answered, at most ``MAX_REMINDERS`` times and not
    twice within ``REMINDER_SPACING``; people since deactivated are skipped."""
    now = deps.now()
    async with deps.transaction() as conn:
        wave = await _locked(conn, wave_id)
        if wave.status != OPEN:
            raise FailedPrecondition(f"wave is {wave.status}; reminders need an open wave")
        rows = await conn.fetch(
            "SELECT i.*, p.email FROM invitations i JOIN people p"
            " ON p.pseudonym = i.person_pseudonym AND p.active"
            " WHERE i.wave_id = $1 AND NOT i.redeemed AND i.expires_at > $2"
            " AND i.reminders_sent < $3 AND i.last_sent_at <= $4",
            wave_id,
            now,
            MAX_REMINDERS,
            now - REMINDER_SPACING,
        )
        for row in rows:
            number = row["reminders_sent"] + 1
            new = invitations.NewInvitation(
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
        await conn.execute(
            "UPDATE invitations SET reminders_sent = reminders_sent + 1, last_sent_at = $2"
            " WHERE invitation_id = ANY($1)",
            [row["invitation_id"] for row in rows],
            now,
        )
    deps.notify()
    return len(rows)


async def response_rates(
    deps: Deps, wave_id: uuid.UUID, scope_unit_id: str
) -> tuple[list[domain.Rate], int]:
    async with deps.connection() as conn:
        row = await conn.fetchrow("SELECT * FROM waves WHERE wave_id = $1", wave_id)
        if row is None:
            raise NotFound(f"wave {wave_id} does not exist")
        wave = _wave(row)
        if wave.min_group_size is None:
            raise FailedPrecondition("the wave has not opened yet")
        rows = await conn.fetch(
            "SELECT unit_id, count(*) AS invited, count(*) FILTER (WHERE redeemed) AS responded"
            " FROM invitations WHERE wave_id = $1 GROUP BY unit_id",
            wave_id,
        )
        counts = {r["unit_id"]: (int(r["invited"]), int(r["responded"])) for r in rows}
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
    due = await deps.pool.fetch(
        "SELECT wave_id FROM waves WHERE status = 'scheduled' AND opens_on <= $1"
        " AND closes_on > $1",
        today,
    )
    for row in due:
        try:
            await open_wave(deps, row["wave_id"])
        except DomainError as error:  # e.g. opened by hand meanwhile, or no audience unit
            log.warning("cannot open wave %s: %s", row["wave_id"], error.message)
    ended = await deps.pool.fetch(
        "SELECT wave_id FROM waves WHERE status <> 'closed' AND closes_on <= $1", today
    )
    for row in ended:
        try:
            await close_wave(deps, row["wave_id"])
        except DomainError as error:
            log.warning("cannot close wave %s: %s", row["wave_id"], error.message)
