"""``pulse org``: the dated organisation and the roster."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import click
from pulse.survey.v1 import survey_service_pb2 as survey_pb

from pulse_cli.context import Stubs
from pulse_cli.csv_files import ROSTER_COLUMNS, count_data_lines, read_csv
from pulse_cli.enums import UNIT_TYPES, enum_label, unit_type
from pulse_cli.options import json_option
from pulse_cli.output import echo_rejected, emit, row_progress, table
from pulse_cli.rpc import run_with_stubs, unary

UNIT_TYPE = click.Choice(list(UNIT_TYPES))


@click.group()
def org() -> None:
    """Units (a dated hierarchy) and the employee roster."""


@org.command("create-unit")
@click.argument("unit_id")
@click.option("--name", required=True)
@click.option("--parent", default="", help="Parent unit id (empty for a root).")
@click.option("--type", "type_name", type=UNIT_TYPE, default="front_line")
@click.option("--from", "effective_from", default="", help="ISO date it exists from (today).")
@json_option
def create_unit(
    unit_id: str, name: str, parent: str, type_name: str, effective_from: str, as_json: bool
) -> None:
    """Create a unit."""
    request = survey_pb.CreateUnitRequest(
        unit_id=unit_id,
        name=name,
        parent_id=parent,
        unit_type=unit_type(type_name),
        effective_from=effective_from,
    )
    reply = unary(lambda s: s.survey.CreateUnit, request)
    emit(as_json, reply, f"created unit {reply.unit.unit_id} from {reply.unit.valid_from}")


@org.command("update-unit")
@click.argument("unit_id")
@click.option("--name", default=None, help="Rename.")
@click.option("--parent", default=None, help="Move under another parent.")
@click.option("--type", "type_name", type=UNIT_TYPE, default=None)
@click.option("--from", "effective_from", required=True, help="ISO date the change holds from.")
@json_option
def update_unit(
    unit_id: str,
    name: str | None,
    parent: str | None,
    type_name: str | None,
    effective_from: str,
    as_json: bool,
) -> None:
    """Rename, move or retype a unit from a date on (history before it is kept)."""
    request = survey_pb.UpdateUnitRequest(unit_id=unit_id, effective_from=effective_from)
    if name is not None:
        request.name = name
    if parent is not None:
        request.parent_id = parent
    if type_name is not None:
        request.unit_type = unit_type(type_name)
    reply = unary(lambda s: s.survey.UpdateUnit, request)
    emit(as_json, reply, f"unit {unit_id} updated from {effective_from}")


@org.command("merge")
@click.argument("source")
@click.argument("target")
@click.option("--from", "effective_from", required=True, help="ISO date of the merge.")
@json_option
def merge_units(source: str, target: str, effective_from: str, as_json: bool) -> None:
    """Merge SOURCE into TARGET from a date on."""
    request = survey_pb.MergeUnitsRequest(
        source_unit_id=source, target_unit_id=target, effective_from=effective_from
    )
    reply = unary(lambda s: s.survey.MergeUnits, request)
    emit(as_json, reply, f"merged {source} into {target}; {reply.people_moved} people moved")


@org.command("units")
@click.option("--as-of", default="", help="ISO date (today).")
@click.option("--root", default="", help="Only this subtree.")
@json_option
def list_units(as_of: str, root: str, as_json: bool) -> None:
    """The organisation as it stood on a date."""
    reply = unary(
        lambda s: s.survey.ListUnits, survey_pb.ListUnitsRequest(as_of=as_of, root_unit_id=root)
    )
    rows = (
        (
            "  " * u.depth + u.unit_id,
            u.name,
            u.parent_id,
            enum_label(survey_pb.UnitType.DESCRIPTOR, u.unit_type),
            u.valid_from,
            u.valid_to,
        )
        for u in reply.units
    )
    columns = ["unit", "name", "parent", "type", "from", "until"]
    emit(as_json, reply, table(f"units as of {as_of or 'today'}", columns, rows))


@org.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Accept a sync that deactivates many people.")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--full-sync", is_flag=True, help="People missing from the file are deactivated.")
@click.option("--as-of", default="", help="ISO date of the export (today).")
@json_option
def import_roster(
    csv_file: Path, force: bool, dry_run: bool, full_sync: bool, as_of: str, as_json: bool
) -> None:
    """Import or sync the roster from an HR export (employee_id,email,unit_id,start_date,end_date
    and an optional language column: the language invitations are written in, e.g. de).

    Employee ids are stored only as HMAC pseudonyms; emails only to deliver invitations."""
    total = count_data_lines(csv_file)
    options = survey_pb.ImportRosterOptions(
        force=force, dry_run=dry_run, as_of=as_of, full_sync=full_sync
    )

    async def action(stubs: Stubs) -> survey_pb.ImportRosterResponse:
        with row_progress("importing roster", total, hidden=as_json) as progress:

            async def requests() -> AsyncIterator[survey_pb.ImportRosterRequest]:
                yield survey_pb.ImportRosterRequest(options=options)
                for line, row in read_csv(csv_file, ROSTER_COLUMNS[:3]):
                    yield survey_pb.ImportRosterRequest(
                        row=survey_pb.RosterRow(
                            employee_id=row.get("employee_id", ""),
                            email=row.get("email", ""),
                            unit_id=row.get("unit_id", ""),
                            start_date=row.get("start_date", ""),
                            end_date=row.get("end_date", ""),
                            language=row.get("language", ""),
                            line=line,
                        )
                    )
                    progress.advance(progress.task_ids[0])

            timeout = max(60.0, total / 50, stubs.deadline_s)
            return await stubs.survey.ImportRoster(requests(), timeout=timeout)

    reply = run_with_stubs(action)
    if as_json:  # the rejected rows are in the document
        emit(True, reply)
        return
    verb = "would be" if reply.dry_run else "were"
    click.echo(
        f"roster: {reply.created} created, {reply.updated} updated, {reply.unchanged} unchanged,"
        f" {reply.deactivated} deactivated ({verb} written)"
    )
    echo_rejected((r.line, r.field, r.reason) for r in reply.rejected)
    if reply.rejected:
        raise click.ClickException(f"{len(reply.rejected)} row(s) rejected; fix them and re-run")
