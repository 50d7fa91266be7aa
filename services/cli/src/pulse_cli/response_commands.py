"""``pulse import responses``, ``pulse comments``, ``pulse recognition``: answers brought in
from the past, and the free text leaders may read (thresholds apply)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import click
from pulse.response.v1 import response_service_pb2 as response_pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2
from pulse_response.import_csv import RowError, parse_rows
from rich.progress import TextColumn

from pulse_cli.context import Stubs
from pulse_cli.csv_files import count_data_lines
from pulse_cli.import_checks import summary
from pulse_cli.options import (
    PERIOD,
    json_option,
    period_range_options,
    range_or_recent,
    scope_option,
)
from pulse_cli.output import echo_rejected, emit, print_table, row_progress, to_dict
from pulse_cli.rpc import run_with_stubs, unary

# Rows the response service validates and stores per second, at the least (for the deadline).
IMPORT_ROWS_PER_S = 20
# Rows per ``ImportResponses`` message (``ImportRows``), and at most this many bytes of them
# (long comments: well below the services' 8 MB message limit).
IMPORT_CHUNK = 500
IMPORT_CHUNK_BYTES = 1024 * 1024


@click.group("import")
def import_group() -> None:
    """Bring past results into Pulse."""


@import_group.command("responses")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--survey", "survey_id", required=True, help="Published survey the rows answer (its id)."
)
@click.option(
    "--version", type=int, default=0, help="Survey version (default: the latest published)."
)
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@json_option
def import_responses(
    csv_file: Path, survey_id: str, version: int, dry_run: bool, as_json: bool
) -> None:
    """Import historical responses from CSV_FILE: header
    unit_id,period,kind[,interaction_date,channel] then one column per item id; a period is
    a month like 2026-03 or an ISO week like 2026-W11. Each row's unit must exist in the
    organisation during its period (the response service checks it). Prints "N new, M
    already imported, K rejected" and every rejected row with its line and reason."""
    total = count_data_lines(csv_file)
    text = csv_file.read_text(encoding="utf-8")
    local_errors: list[tuple[int, str, str]] = []

    async def action(stubs: Stubs) -> response_pb.ImportResponsesResponse:
        survey = await stubs.survey.GetSurvey(
            survey_pb.GetSurveyRequest(survey_id=survey_id, version=version),
            timeout=stubs.deadline_s,
        )
        definition = survey.definition
        parsed = list(parse_rows(text, definition))
        rows = [row for row in parsed if not isinstance(row, RowError)]
        local_errors.extend((e.line, e.field, e.reason) for e in parsed if isinstance(e, RowError))
        rate = TextColumn("{task.fields[rate]:.0f} rows/s")
        with row_progress(
            "importing responses", total, hidden=as_json, extra=[rate], rate=0.0
        ) as bar:
            task = bar.task_ids[0]
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
                # Chunks of rows per message (``ImportRows``): one message per row cost
                # the service more than writing the rows (issue 20).
                for chunk in _chunks(rows):
                    done = bar.tasks[0].completed + len(chunk)
                    bar.update(
                        task, advance=len(chunk), rate=done / max(1e-6, time.monotonic() - started)
                    )
                    yield response_pb.ImportResponsesRequest(
                        rows=response_pb.ImportRows(rows=chunk)
                    )

            timeout = max(120.0, total / IMPORT_ROWS_PER_S, stubs.deadline_s)
            return await stubs.response.ImportResponses(requests(), timeout=timeout)

    reply = run_with_stubs(action)
    rejected = sorted(local_errors + [(r.line, r.field, r.reason) for r in reply.rejected])
    payload = to_dict(reply)
    payload["rejected"] = [{"line": a, "field": b, "reason": c} for a, b, c in rejected]
    payload["new"] = 0 if reply.dry_run else reply.accepted - reply.already_imported
    line = summary(reply.accepted, reply.already_imported, len(rejected), reply.dry_run)
    emit(as_json, payload, line)
    if not as_json:
        echo_rejected(rejected)


def _chunks(rows: list[response_pb.ImportRow]) -> Iterator[list[response_pb.ImportRow]]:
    """``rows`` in order, ``IMPORT_CHUNK`` at a time or fewer when they are large."""
    chunk: list[response_pb.ImportRow] = []
    size = 0
    for row in rows:
        row_size = row.ByteSize()
        if chunk and (len(chunk) >= IMPORT_CHUNK or size + row_size > IMPORT_CHUNK_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(row)
        size += row_size
    if chunk:
        yield chunk


@click.command("comments")
@click.option("--unit", "unit_id", required=True, help="The team (unit id).")
@click.option("--period", type=PERIOD, required=True, help="A month like 2026-03 or 2026-W11.")
@click.option(
    "--survey",
    "survey_id",
    default="",
    help="The survey the comments answer (default: the published employee survey, when there"
    " is exactly one).",
)
@scope_option
@json_option
def comments(unit_id: str, period: str, survey_id: str, scope: str, as_json: bool) -> None:
    """Comments of a group, only when it reaches the comment threshold."""
    survey_id = survey_id or _the_employee_survey()
    request = response_pb.ListCommentsRequest(unit_id=unit_id, period=period, survey_id=survey_id)
    reply = unary(lambda s: s.response.ListComments, request, scope=scope)
    if reply.suppressed:
        human = f"suppressed: {reply.suppression_reason}"
    else:
        human = "\n".join(f"- {comment.text}" for comment in reply.comments) or "no comments"
    emit(as_json, reply, human)


def _the_employee_survey() -> str:
    """The one published employee survey; with none or several, ask for --survey."""
    kind = types_pb2.SURVEY_KIND_EMPLOYEE_PULSE
    listing = unary(lambda s: s.survey.ListSurveys, survey_pb.ListSurveysRequest(kind=kind))
    published = [s for s in listing.surveys if s.status == survey_pb.SURVEY_STATUS_PUBLISHED]
    if len(published) == 1:
        return published[0].survey_id
    if not published:
        raise click.UsageError("no employee survey is published; give --survey")
    choices = ", ".join(f"{s.survey_id} ({s.name})" for s in published)
    raise click.UsageError(f"several employee surveys are published; give --survey: {choices}")


@click.command("recognition")
@click.option("--unit", "unit_id", required=True)
@period_range_options
@click.option(
    "--pending", is_flag=True, help="The stories waiting for a team lead's approval instead."
)
@scope_option
@json_option
def recognition(
    unit_id: str, period_from: str, period_to: str, pending: bool, scope: str, as_json: bool
) -> None:
    """Customer praise shared with the team by consent and approved by a team lead on the
    web board, names of people redacted (default: the periods of the default report up to
    now); ``--pending``: the stories still waiting for approval."""
    period_from, period_to = range_or_recent(period_from, period_to)
    status = response_pb.RECOGNITION_STATUS_PENDING if pending else 0
    request = response_pb.ListRecognitionRequest(
        unit_id=unit_id,
        period_from=period_from,
        period_to=period_to,
        status=response_pb.RecognitionStatus.ValueType(status),
    )
    reply = unary(lambda s: s.response.ListRecognition, request, scope=scope)

    def show() -> None:
        if reply.suppressed:  # groups under the threshold are withheld, the others shown
            click.echo(f"suppressed: {reply.suppression_reason}")
        rows = ((e.period, e.unit_id, e.text) for e in reply.entries)
        title = "recognition: waiting for a team lead" if pending else "recognition"
        print_table(title, ["period", "unit", "comment"], rows)

    emit(as_json, reply, show)
