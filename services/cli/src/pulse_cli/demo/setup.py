"""Setting the demo up: the environment of the stack it starts, the item bank read from the
survey service, the organisation and roster imported into it, the two surveys published from
the bank, and the reorganisation half-way."""

from __future__ import annotations

from collections.abc import AsyncIterator

from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2
from pulse_common.measures import COMMENT, CUSTOMER, EMPLOYEE, Population, scale_name

from pulse_cli.context import Stubs
from pulse_cli.demo.config import DemoConfig
from pulse_cli.demo.generator import Organisation
from pulse_cli.demo.history import HISTORY_TTL_DAYS, RELEASE_GRACE_DAYS
from pulse_cli.demo.items import BankEntry, ItemBank, bank_from_entries
from pulse_cli.demo.run import DemoFailed, DemoRun
from pulse_cli.enums import unit_type

# Environment of a stack the demo starts: every repeat customer is asked (the default
# 14-day contact budget would suppress them), the simulated respondents are not rate
# limited, waves open only when opened, and periods are months (the generator's).
DEMO_ENV = {
    "PULSE_CONTACT_BUDGET_DAYS": "0",
    "PULSE_RESPONSE_SUBMITS_PER_MINUTE": "1000000",
    "PULSE_WAVE_SCHEDULER_INTERVAL_S": "0",
    "PULSE_PERIOD": "month",
    "PULSE_SAMPLING": "",  # every channel at PULSE_CUSTOMER_SAMPLE_RATE
    # Invitations for interactions of the past months (``history``).
    "PULSE_TOKEN_TTL_DAYS": str(HISTORY_TTL_DAYS),
    # A month is released at the latest this many days after it ends, even though its
    # backfilled wave closed only today: the months ``history`` picks are then released.
    "PULSE_RELEASE_MAX_WAIT_DAYS": str(RELEASE_GRACE_DAYS),
}
# The demo's two surveys, by the population that answers them.
SURVEY_KINDS: dict[Population, types_pb2.SurveyKind.ValueType] = {
    EMPLOYEE: types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
    CUSTOMER: types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION,
}
SURVEY_NAMES: dict[Population, str] = {
    EMPLOYEE: "Monthly pulse (demo)",
    CUSTOMER: "After your visit (demo)",
}
# Preferred free-text item per survey when the bank offers several (any comment item works).
PREFERRED_COMMENTS: dict[Population, str] = {EMPLOYEE: "ecomment.1", CUSTOMER: "ccomment.1"}


def demo_env(config: DemoConfig) -> dict[str, str]:
    """``DEMO_ENV`` plus the customer sampling the generator expects."""
    return {**DEMO_ENV, "PULSE_CUSTOMER_SAMPLE_RATE": str(config.customer_sample_rate)}


async def load_bank(stubs: Stubs) -> ItemBank:
    """The demo's items, read from the survey service's bank."""
    entries: list[BankEntry] = []
    for population, kind in SURVEY_KINDS.items():
        listed = await stubs.survey.ListItems(
            survey_pb.ListItemsRequest(kind=kind), timeout=stubs.deadline_s
        )
        entries.extend(
            BankEntry(
                item.item_id,
                item.construct,
                scale_name(item.scale),
                item.reverse_scored,
                population,
            )
            for item in listed.items
        )
    offered = {(e.population, e.item_id) for e in entries if e.construct == COMMENT}

    def passed_over(entry: BankEntry) -> bool:
        """Another comment item while the preferred one is offered (bank_from_entries takes
        the first comment item of each population)."""
        preferred = PREFERRED_COMMENTS[entry.population]
        return (
            entry.construct == COMMENT
            and (entry.population, preferred) in offered
            and entry.item_id != preferred
        )

    return bank_from_entries(e for e in entries if not passed_over(e))


def org_since(org: Organisation) -> str:
    """Units exist from well before the first month (the roster's earliest start)."""
    first = org.periods[0].start
    return min([first, *(e.start_date for e in org.employees)]).isoformat()


async def import_org(run: DemoRun) -> None:
    """Every unit, then the roster through the streaming import."""
    org, first = run.org, run.org.periods[0].start
    since = org_since(org)
    for n, unit in enumerate(org.units, start=1):
        await run.stubs.survey.CreateUnit(
            survey_pb.CreateUnitRequest(
                unit_id=unit.unit_id,
                name=unit.name,
                parent_id=unit.parent_id,
                unit_type=unit_type(unit.unit_type),
                effective_from=since,
            ),
            timeout=run.deadline,
        )
        run.progress.stage("units", n, len(org.units))

    async def rows() -> AsyncIterator[survey_pb.ImportRosterRequest]:
        yield survey_pb.ImportRosterRequest(
            options=survey_pb.ImportRosterOptions(as_of=first.isoformat())
        )
        for line, person in enumerate(org.employees, start=2):
            yield survey_pb.ImportRosterRequest(
                row=survey_pb.RosterRow(
                    employee_id=person.employee_id,
                    email=person.email,
                    unit_id=person.unit_id,
                    start_date=person.start_date.isoformat(),
                    end_date=person.end_date.isoformat() if person.end_date else "",
                    line=line,
                )
            )

    imported = await run.stubs.survey.ImportRoster(rows(), timeout=max(60.0, run.deadline))
    if imported.rejected:
        first_problem = imported.rejected[0]
        raise DemoFailed(
            f"the roster import rejected {len(imported.rejected)} rows (line "
            f"{first_problem.line}, {first_problem.field}: {first_problem.reason})"
        )
    run.counts["employees_imported"] = imported.created + imported.updated + imported.unchanged
    run.progress.stage("roster", len(org.employees), len(org.employees))


async def create_surveys(run: DemoRun) -> None:
    """Publish the employee pulse and the customer survey with the bank's items."""
    bank, k = run.org.bank, run.org.config.min_group_size
    items = {EMPLOYEE: bank.employee_item_ids, CUSTOMER: bank.customer_item_ids}
    published: dict[Population, str] = {}
    for population, kind in SURVEY_KINDS.items():
        draft = await run.stubs.survey.CreateSurvey(
            survey_pb.CreateSurveyRequest(
                name=SURVEY_NAMES[population],
                kind=kind,
                item_ids=items[population],
                min_group_size=k,
                language="en",
            ),
            timeout=run.deadline,
        )
        done = await run.stubs.survey.PublishSurvey(
            survey_pb.PublishSurveyRequest(survey_id=draft.survey.survey_id),
            timeout=run.deadline,
        )
        published[population] = draft.survey.survey_id
        if population == EMPLOYEE:
            run.employee_version = done.definition.version or 1
        else:
            run.customer_version = done.definition.version or 1
    run.employee_survey, run.customer_survey = published[EMPLOYEE], published[CUSTOMER]
    run.progress.note(
        f"published an employee pulse ({len(bank.employee_item_ids)} items) and a "
        f"customer survey ({len(bank.customer_item_ids)} items) from the item bank"
    )


async def reorganise(run: DemoRun) -> None:
    """Move the generated teams to their new departments (history before it is kept)."""
    for move in run.org.moves:
        await run.stubs.survey.UpdateUnit(
            survey_pb.UpdateUnitRequest(
                unit_id=move.unit_id,
                parent_id=move.parent_id,
                effective_from=move.effective_from.isoformat(),
            ),
            timeout=run.deadline,
        )
    if run.org.moves:
        when = run.org.moves[0].effective_from.isoformat()
        run.progress.note(
            f"reorganisation: {len(run.org.moves)} teams moved to another department from {when}"
        )
