"""Roster import: employees become HMAC pseudonyms with a delivery contact and a unit.
Bad rows are reported by line and field; good rows are written in one transaction; a full
sync that would deactivate too many people is refused unless forced."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from pulse_common.errors import FailedPrecondition, InvalidArgument

from pulse_survey import domain, org_repository, roster_repository
from pulse_survey.context import Deps
from pulse_survey.org import units_as_of
from pulse_survey.tokens import employee_pseudonym

MAX_ROWS = 200_000


@dataclass(frozen=True)
class RosterOptions:
    as_of: date
    force: bool = False
    dry_run: bool = False
    full_sync: bool = False


@dataclass(frozen=True)
class RawRow:
    line: int
    employee_id: str
    email: str
    unit_id: str
    start_date: str
    end_date: str


@dataclass(frozen=True)
class Rejected:
    line: int
    field: str
    reason: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    dry_run: bool = False


@dataclass(frozen=True)
class _Person:
    pseudonym: str
    email: str
    unit_id: str
    start_date: date | None
    end_date: date | None


def _parse_row(row: RawRow, secret: str, units: set[str]) -> _Person:
    employee_id = row.employee_id.strip()
    if not employee_id or len(employee_id) > 128:
        raise InvalidArgument("employee_id", "is required (at most 128 characters)")
    email = domain.require_email("email", row.email)
    if row.unit_id not in units:
        raise InvalidArgument("unit_id", f"unit {row.unit_id!r} does not exist on the import date")
    start = domain.parse_date("start_date", row.start_date.strip()) if row.start_date else None
    end = domain.parse_date("end_date", row.end_date.strip()) if row.end_date else None
    if start and end and end < start:
        raise InvalidArgument("end_date", "is before start_date")
    return _Person(employee_pseudonym(secret, employee_id), email, row.unit_id, start, end)


async def import_roster(deps: Deps, options: RosterOptions, rows: list[RawRow]) -> ImportResult:
    result = ImportResult(dry_run=options.dry_run)
    async with deps.transaction() as conn:
        await org_repository.lock_org(conn)  # units must not be merged away under the import
        units = set(await units_as_of(conn, options.as_of))
        people: dict[str, _Person] = {}
        seen_in_file: set[str] = set()
        first_line: dict[str, int] = {}
        for row in rows:
            try:
                person = _parse_row(row, deps.settings.hmac_secret, units)
            except InvalidArgument as error:
                result.rejected.append(Rejected(row.line, error.field, error.message))
                # A person whose row is malformed is still in the file: never deactivate them.
                if row.employee_id.strip():
                    seen_in_file.add(employee_pseudonym(deps.settings.hmac_secret, row.employee_id))
                continue
            if person.pseudonym in first_line:
                reason = f"employee_id: duplicate of line {first_line[person.pseudonym]}"
                result.rejected.append(Rejected(row.line, "employee_id", reason))
                continue
            first_line[person.pseudonym] = row.line
            people[person.pseudonym] = person
            seen_in_file.add(person.pseudonym)

        existing = await roster_repository.all_people(conn)
        writes: list[roster_repository.PersonWrite] = []
        for person in people.values():
            before = existing.get(person.pseudonym)
            values = (person.email, person.unit_id, person.start_date, person.end_date, True)
            if before is None:
                result.created += 1
            elif (
                tuple(before[k] for k in ("email", "unit_id", "start_date", "end_date", "active"))
                == values
            ):
                result.unchanged += 1
                continue
            else:
                result.updated += 1
            writes.append((person.pseudonym, *values[:4]))

        to_deactivate: list[str] = []
        if options.full_sync:
            to_deactivate = [
                p for p, r in existing.items() if r["active"] and p not in seen_in_file
            ]
            active = sum(1 for r in existing.values() if r["active"])
            share = len(to_deactivate) / active if active else 0.0
            guard = deps.settings.deactivation_guard_share
            if share > guard and not options.force:
                raise FailedPrecondition(
                    f"this full sync would deactivate {len(to_deactivate)} of {active} active "
                    f"people, a share of {share:.0%}, above the mass-deactivation guard of "
                    f"{guard:.0%} (PULSE_DEACTIVATION_GUARD_SHARE); nothing was written. "
                    "Check the file; if the departures are real, re-run with --force"
                )
        result.deactivated = len(to_deactivate)
        if options.dry_run:
            return result
        await roster_repository.upsert(conn, writes)
        if to_deactivate:
            await roster_repository.deactivate(conn, to_deactivate)
    return result
