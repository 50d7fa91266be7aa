"""Roster import rules (pure): rows become people under HMAC pseudonyms or are rejected by
line and field; the import is planned against the stored roster (created, updated,
unchanged, deactivated) and a full sync that would deactivate too many is refused."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from pulse_common import fields
from pulse_common.errors import FailedPrecondition, InvalidArgument

from pulse_survey.tokens import employee_pseudonym

MAX_ROWS = 200_000
MAX_EMPLOYEE_ID = 128


@dataclass(frozen=True)
class RawRow:
    """One roster line as the caller sent it."""

    line: int
    employee_id: str
    email: str
    unit_id: str
    start_date: str
    end_date: str
    language: str = ""


@dataclass(frozen=True)
class Person:
    """One employee as stored: a pseudonym, the address invitations go to, a unit."""

    pseudonym: str
    email: str
    unit_id: str
    start_date: date | None
    end_date: date | None
    active: bool = True
    language: str = ""  # BCP 47 tag invitations are written in ("" = the survey's)


@dataclass(frozen=True)
class Rejected:
    """A row left out; ``reason`` starts with the field, as error messages do."""

    line: int
    field: str
    reason: str


@dataclass(frozen=True)
class ParsedRows:
    people: list[Person]  # the valid rows, one per person
    named: set[str]  # every pseudonym the file names, in valid rows or not
    rejected: list[Rejected]


@dataclass(frozen=True)
class RosterPlan:
    writes: list[Person]  # people created or changed
    created: int
    updated: int
    unchanged: int
    deactivate: list[str]  # pseudonyms
    active_before: int


def parse_person(row: RawRow, secret: str, units: set[str]) -> Person:
    employee_id = row.employee_id.strip()
    if not employee_id:
        raise InvalidArgument("employee_id", "is required")
    fields.require_text("employee_id", employee_id, max_length=MAX_EMPLOYEE_ID)
    email = fields.require_email("email", row.email)
    if row.unit_id not in units:
        raise InvalidArgument("unit_id", f"unit {row.unit_id!r} does not exist on the import date")
    start = fields.parse_date("start_date", row.start_date.strip()) if row.start_date else None
    end = fields.parse_date("end_date", row.end_date.strip()) if row.end_date else None
    if start and end and end < start:
        raise InvalidArgument("end_date", "is before start_date")
    language = row.language.strip()
    if language:
        fields.require_language("language", language)
    pseudonym = employee_pseudonym(secret, employee_id)
    return Person(pseudonym, email, row.unit_id, start, end, language=language)


def parse_rows(rows: Sequence[RawRow], secret: str, units: set[str]) -> ParsedRows:
    """``units``: the units that exist on the import date."""
    people: dict[str, Person] = {}
    first_line: dict[str, int] = {}
    named: set[str] = set()
    rejected: list[Rejected] = []
    for row in rows:
        try:
            person = parse_person(row, secret, units)
        except InvalidArgument as error:
            rejected.append(Rejected(row.line, error.field, error.message))
            # A person whose row is malformed is still in the file: never deactivate them.
            if row.employee_id.strip():
                named.add(employee_pseudonym(secret, row.employee_id))
            continue
        if person.pseudonym in first_line:
            reason = f"employee_id: duplicate of line {first_line[person.pseudonym]}"
            rejected.append(Rejected(row.line, "employee_id", reason))
            continue
        first_line[person.pseudonym] = row.line
        people[person.pseudonym] = person
        named.add(person.pseudonym)
    return ParsedRows(list(people.values()), named, rejected)


def plan_import(
    parsed: ParsedRows, existing: Mapping[str, Person], *, full_sync: bool
) -> RosterPlan:
    """What the import changes; a person in the file is active again. A full sync also
    deactivates the active people the file does not name."""
    writes = [person for person in parsed.people if existing.get(person.pseudonym) != person]
    created = sum(1 for person in writes if person.pseudonym not in existing)
    deactivate = []
    if full_sync:
        deactivate = [
            pseudonym
            for pseudonym, person in existing.items()
            if person.active and pseudonym not in parsed.named
        ]
    return RosterPlan(
        writes=writes,
        created=created,
        updated=len(writes) - created,
        unchanged=len(parsed.people) - len(writes),
        deactivate=deactivate,
        active_before=sum(1 for person in existing.values() if person.active),
    )


def guard_mass_deactivation(plan: RosterPlan, guard_share: float, *, force: bool) -> None:
    """Refuse a sync deactivating more than ``guard_share`` of the active people (a
    truncated or wrong file) unless ``force`` says the departures are real."""
    active = plan.active_before
    share = len(plan.deactivate) / active if active else 0.0
    if share > guard_share and not force:
        raise FailedPrecondition(
            f"this full sync would deactivate {len(plan.deactivate)} of {active} active "
            f"people, a share of {share:.0%}, above the mass-deactivation guard of "
            f"{guard_share:.0%} (PULSE_DEACTIVATION_GUARD_SHARE); nothing was written. "
            "Check the file; if the departures are real, re-run with --force"
        )
