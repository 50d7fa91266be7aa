"""Roster import (use case): the rows are checked and planned against the stored roster by
``roster_plan``, then written in one unit of work (nothing on a dry run)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pulse_survey import org_repository, roster_repository
from pulse_survey.context import Deps
from pulse_survey.org import units_as_of
from pulse_survey.roster_plan import (
    RawRow,
    Rejected,
    RosterPlan,
    guard_mass_deactivation,
    parse_rows,
    plan_import,
)


@dataclass(frozen=True)
class RosterOptions:
    as_of: date
    force: bool = False
    dry_run: bool = False
    full_sync: bool = False


@dataclass(frozen=True)
class ImportResult:
    plan: RosterPlan  # what was written (on a dry run: what would have been)
    rejected: list[Rejected]
    dry_run: bool


async def import_roster(deps: Deps, options: RosterOptions, rows: Sequence[RawRow]) -> ImportResult:
    common = deps.settings.common
    async with deps.db.unit_of_work() as uow:
        # Units must not be merged away under the import.
        await org_repository.lock_org(uow.conn)
        units = set(await units_as_of(uow.conn, options.as_of))
        parsed = parse_rows(rows, common.hmac_secret, units)
        existing = await roster_repository.all_people(uow.conn)
        plan = plan_import(parsed, existing, full_sync=options.full_sync)
        guard_mass_deactivation(plan, common.deactivation_guard_share, force=options.force)
        if not options.dry_run:
            await roster_repository.upsert(uow.conn, plan.writes)
            if plan.deactivate:
                await roster_repository.deactivate(uow.conn, plan.deactivate)
    return ImportResult(plan, parsed.rejected, options.dry_run)
