"""``pulse import responses``, ``pulse comments``, ``pulse recognition``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import click
from pulse.response.v1 import response_service_pb2 as response_pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse_response.import_csv import RowError, parse_rows
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from pulse_cli.context import Stubs, console, emit, to_dict
from pulse_cli.csv_files import count_data_lines
from pulse_cli.runner import json_option, operator_viewer, run_with_stubs
from pulse_cli.tables import print_table


@click.group("import")
def import_group() -> None:
    """Bring past results into Pulse."""


@import_group.command("responses")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--survey", "survey_id", required=True, help="Published survey the rows answer.")
@click.option("--version", type=int, default=0, help="Survey version (latest published).")
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@json_option
def import_responses(
    csv_file: Path, survey_id: str, version: int, dry_run: bool, as_json: bool
) -> None:
    """Import historical responses: header unit_id,period,kind[,interaction_date,channel]
    then one column per item id. Every rejected row is listed with its reason."""
    total = count_data_lines(csv_file)
    text = csv_file.read_text(encoding="utf-8")
    local_errors: list[RowError] = []

    async def action(stubs: Stubs) -> response_pb.ImportResponsesResponse:
        survey = await stubs.survey.GetSurvey(
            survey_pb.GetSurveyRequest(survey_id=survey_id, version=version),
            timeout=stubs.deadline_s,
        )
        definition = survey.definition
        with Progress(
            TextColumn("[bold]importing responses"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} rows"),
            TextColumn("{task.fields[rate]:.0f} rows/s"),
            TimeElapsedColumn(),
            console=console,
            disable=as_json,
        ) as progress:
            task = progress.add_task("rows", total=total, rate=0.0)
            started = time.monotonic()

            async def requests() -> AsyncIterator[response_pb.ImportResponsesRequest]:
                yield response_pb.ImportResponsesRequest(
                    header=response_pb.ImportHeader(
                        survey_id=definition.survey_id,
                        survey_version=definition.version,
                        dry_run=dry_run,
                        source_name=csv_file.name,
                    )
                )
                for parsed in parse_rows(text, definition):
                    progress.update(
                        task,
                        advance=1,
                        rate=(progress.tasks[0].completed + 1)
                        / max(1e-6, time.monotonic() - started),
                    )
                    if isinstance(parsed, RowError):
                        local_errors.append(parsed)
                        continue
                    yield response_pb.ImportResponsesRequest(row=parsed)

            return await stubs.response.ImportResponses(requests(), timeout=max(120.0, total / 20))

    reply = run_with_stubs(action)
    rejected = sorted(
        [(e.line, e.field, e.reason) for e in local_errors]
        + [(r.line, r.field, r.reason) for r in reply.rejected]
    )
    if as_json:
        payload = to_dict(reply)
        payload["rejected"] = [{"line": a, "field": b, "reason": c} for a, b, c in rejected]
        emit(True, payload)
        return
    verb = "would be imported (dry run)" if reply.dry_run else "imported"
    click.echo(f"{reply.accepted} rows {verb}; {len(rejected)} rejected")
    for line, field, reason in rejected:
        click.echo(f"  line {line}: {field}: {reason}", err=True)


@click.command("comments")
@click.option("--unit", "unit_id", required=True)
@click.option("--period", required=True)
@click.option("--survey", "survey_id", default="")
@click.option("--scope", default="")
@json_option
def comments(unit_id: str, period: str, survey_id: str, scope: str, as_json: bool) -> None:
    """Comments of a group, only when it reaches the comment threshold."""

    async def action(stubs: Stubs) -> response_pb.ListCommentsResponse:
        request = response_pb.ListCommentsRequest(
            unit_id=unit_id, period=period, survey_id=survey_id, viewer=operator_viewer(scope)
        )
        return await stubs.response.ListComments(request, timeout=stubs.deadline_s)

    reply = run_with_stubs(action)
    if as_json:
        emit(True, reply)
        return
    if reply.suppressed:
        click.echo(f"suppressed: {reply.suppression_reason}")
        return
    for comment in reply.comments:
        click.echo(f"- {comment.text}")


@click.command("recognition")
@click.option("--unit", "unit_id", required=True)
@click.option("--from", "period_from", default="")
@click.option("--to", "period_to", default="")
@click.option("--scope", default="")
@json_option
def recognition(unit_id: str, period_from: str, period_to: str, scope: str, as_json: bool) -> None:
    """Positive customer comments shared with the team by consent."""

    async def action(stubs: Stubs) -> response_pb.ListRecognitionResponse:
        request = response_pb.ListRecognitionRequest(
            unit_id=unit_id,
            period_from=period_from,
            period_to=period_to,
            viewer=operator_viewer(scope),
        )
        return await stubs.response.ListRecognition(request, timeout=stubs.deadline_s)

    reply = run_with_stubs(action)
    if as_json:
        emit(True, reply)
        return
    if reply.suppressed:
        click.echo(f"suppressed: {reply.suppression_reason}")
        return
    print_table(
        "recognition",
        ["period", "unit", "comment"],
        ((e.period, e.unit_id, e.text) for e in reply.entries),
    )
