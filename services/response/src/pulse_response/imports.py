"""ImportResponses: historical rows validated one by one against the survey version and
against the organisation of their period (``import_units``: a row for a unit that did not
exist then is rejected; the survey service is asked once per period and import, and when it
fails the import is UNAVAILABLE with nothing stored). Every rejected row is reported, the
good ones are kept, then written with their events. Ids are
deterministic, so re-sending a file stores nothing new. Rows are written in units of work of
``PULSE_RESPONSE_IMPORT_BATCH_SIZE`` rows (a file of 200 000 rows is not one transaction),
each a few bulk statements (``import_write``); the batch record is written in the last."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from pulse.response.v1 import response_service_pb2 as pb
from pulse.types.v1 import types_pb2
from pulse_common import errors
from pulse_common.fields import require_id, require_text
from pulse_common.measures import is_customer
from pulse_common.uow import UnitOfWork

from pulse_response import import_audit, import_rules, repository
from pulse_response.context import Deps
from pulse_response.domain import Group, NewResponse, import_batch_id, import_response_id
from pulse_response.import_rows import check_import_row
from pulse_response.import_units import period_days, unit_problem
from pulse_response.import_write import write_all
from pulse_response.survey_client import SurveyClient

log = logging.getLogger(__name__)

MAX_SOURCE_NAME = 200


@dataclass(frozen=True)
class ImportHeader:
    survey_id: str
    survey_version: int
    source_name: str
    dry_run: bool
    # Who runs it (the verified caller's id), for the audit.
    imported_by: str = ""


@dataclass(frozen=True)
class RejectedRow:
    line: int
    field: str  # a column, or an item id for a bad answer
    reason: str


@dataclass(frozen=True)
class ImportResult:
    accepted: int
    rejected: list[RejectedRow]
    dry_run: bool
    batch_id: str
    # Accepted rows already stored by an earlier run of the same file (nothing new written).
    already_imported: int = 0


async def import_responses(
    deps: Deps, header: ImportHeader, rows: AsyncIterator[pb.ImportRow]
) -> ImportResult:
    definition = await _published_version(deps, header)
    accepted, rejected = await _checked_rows(deps, definition, rows)
    batch_id = import_batch_id(
        definition.survey_id, definition.version, (r.response_id for r in accepted)
    )
    result = ImportResult(len(accepted), rejected, header.dry_run, batch_id)
    audit = _audit_entry(header, definition, accepted, batch_id)
    await _refuse_open_or_released(deps, definition, audit)
    if header.dry_run or not accepted:
        if header.dry_run:
            async with deps.db.unit_of_work() as uow:
                await import_audit.record(uow.conn, replace(audit, outcome=import_audit.DRY_RUN))
        return result
    stamped = [dataclasses.replace(response, batch_id=batch_id) for response in accepted]
    written = await _write(deps, header, stamped, batch_id, audit)
    result = replace(result, already_imported=len(accepted) - written)
    log.info(
        "import finished",
        extra={
            "batch_id": batch_id,
            "accepted": len(accepted),
            "new": written,
            "rejected": len(rejected),
        },
    )
    return result


async def list_imports(deps: Deps, limit: int) -> list[import_audit.ImportRecord]:
    """The import audit, newest first."""
    async with deps.db.connection() as conn:
        return await import_audit.newest(conn, limit)


def _audit_entry(
    header: ImportHeader,
    definition: types_pb2.SurveyDefinition,
    accepted: list[NewResponse],
    batch_id: str,
) -> import_audit.ImportRecord:
    return import_audit.ImportRecord(
        batch_id=batch_id,
        survey_id=definition.survey_id,
        survey_version=definition.version,
        source_name=header.source_name,
        accepted=len(accepted),
        imported_by=header.imported_by,
        unit_ids=tuple(sorted({r.group.unit_id for r in accepted})),
        periods=tuple(sorted({r.group.period for r in accepted})),
        outcome=import_audit.IMPORTED,
    )


async def _refuse_open_or_released(
    deps: Deps, definition: types_pb2.SurveyDefinition, audit: import_audit.ImportRecord
) -> None:
    """FAILED_PRECONDITION for an import into an open or already measured period
    (``import_rules``); the refused attempt is audited first."""
    if not audit.periods:
        return
    async with deps.db.connection() as conn:
        held = await import_audit.periods_held(
            conn, int(definition.kind), audit.periods, audit.batch_id
        )
    reason = import_rules.refusal(audit.periods, deps.today(), held)
    if reason is None:
        return
    async with deps.db.unit_of_work() as uow:
        refused = replace(audit, accepted=0, outcome=import_audit.REFUSED, reason=reason)
        await import_audit.record(uow.conn, refused)
    log.warning("import refused", extra={"batch_id": audit.batch_id, "reason": reason})
    raise errors.FailedPrecondition(reason)


async def _published_version(deps: Deps, header: ImportHeader) -> types_pb2.SurveyDefinition:
    require_id("header.survey_id", header.survey_id)
    if header.survey_version < 1:
        raise errors.InvalidArgument("header.survey_version", "must be 1 or more")
    require_text("header.source_name", header.source_name, max_length=MAX_SOURCE_NAME)
    definition = await deps.definitions.get(header.survey_id, header.survey_version)
    if definition is None:
        raise errors.InvalidArgument(
            "header.survey_version",
            f"survey {header.survey_id} version {header.survey_version} is not published",
        )
    return definition


async def _checked_rows(
    deps: Deps, definition: types_pb2.SurveyDefinition, rows: AsyncIterator[pb.ImportRow]
) -> tuple[list[NewResponse], list[RejectedRow]]:
    limit = deps.settings.max_import_rows
    org = _OrgByPeriod(deps.survey)
    accepted: list[NewResponse] = []
    rejected: list[RejectedRow] = []
    lines: set[int] = set()
    count = 0
    async for row in rows:
        count += 1
        if count > limit:
            raise errors.ResourceExhausted(f"an import takes at most {limit} rows; split the file")
        try:
            validated = check_import_row(row, definition, deps.settings)
            if row.line in lines:
                raise errors.InvalidArgument("line", f"line {row.line} appears twice")
            problem_with_unit = await org.problem(row.unit_id, row.period)
            if problem_with_unit is not None:
                raise errors.InvalidArgument("unit_id", problem_with_unit)
        except errors.InvalidArgument as problem:
            rejected.append(RejectedRow(row.line, problem.field, problem.description))
            continue
        lines.add(row.line)
        accepted.append(
            NewResponse(
                response_id=import_response_id(
                    definition.survey_id,
                    definition.version,
                    row.line,
                    row.SerializeToString(deterministic=True),
                ),
                survey_id=definition.survey_id,
                survey_version=definition.version,
                kind=int(definition.kind),
                group=Group(row.unit_id, row.period),
                wave_id="",
                channel=row.channel if is_customer(definition.kind) else "",
                source="import",
                batch_id="",
                answers=validated,
                shared_with_team=False,
            )
        )
    return accepted, rejected


class _OrgByPeriod:
    """The unit ids of the organisation during each period of one import (on the period's
    first or last day), asked of the survey service once per period."""

    def __init__(self, survey: SurveyClient) -> None:
        self._survey = survey
        self._units: dict[str, frozenset[str]] = {}

    async def problem(self, unit_id: str, period: str) -> str | None:
        units = self._units.get(period)
        if units is None:
            first, last = period_days(period)
            units = await self._survey.units_as_of(first) | await self._survey.units_as_of(last)
            self._units[period] = units
        return unit_problem(unit_id, period, units)


async def _write(
    deps: Deps,
    header: ImportHeader,
    responses: list[NewResponse],
    batch_id: str,
    audit: import_audit.ImportRecord,
) -> int:
    """Store the rows chunk by chunk (``import_write.write_all``); the number of rows new
    to the database. The batch record and the audit entry are written with the last chunk."""

    async def finish(uow: UnitOfWork) -> None:
        await repository.record_batch(
            uow.conn,
            batch_id,
            header.survey_id,
            header.survey_version,
            header.source_name,
            len(responses),
        )
        await import_audit.record(uow.conn, audit)

    return await write_all(deps.db, responses, deps.settings.import_batch_size, finish)
