"""Issue 22: the response service itself checks every imported row's unit against the
organisation of the row's period (on its first or last day), so a direct ``ImportResponses``
call cannot store rows for units that did not exist; a survey service that fails meanwhile
makes the import UNAVAILABLE with nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import date

import grpc
from pulse.response.v1 import response_service_pb2 as pb
from pulse.types.v1 import types_pb2 as t
from pulse_response.import_units import period_days, unit_problem
from pulse_testing import survey as survey_kit
from pulse_testing.response import Harness, employee_answers, rpc_error


def row(line: int, unit: str, period: str) -> pb.ImportRow:
    return pb.ImportRow(
        line=line,
        unit_id=unit,
        period=period,
        kind=t.SURVEY_KIND_EMPLOYEE_PULSE,
        answers=employee_answers(),
    )


async def send(
    h: Harness, header: pb.ImportHeader, rows: Iterable[pb.ImportRow]
) -> pb.ImportResponsesResponse:
    async def stream() -> AsyncIterator[pb.ImportResponsesRequest]:
        yield pb.ImportResponsesRequest(header=header)
        for one in rows:
            yield pb.ImportResponsesRequest(row=one)

    reply: pb.ImportResponsesResponse = await h.response.ImportResponses(stream())
    return reply


def test_the_rule_reads_the_org_on_the_first_and_last_day() -> None:
    assert period_days("2025-02") == (date(2025, 2, 1), date(2025, 2, 28))
    assert period_days("2026-W11") == (date(2026, 3, 9), date(2026, 3, 15))
    assert unit_problem("n1", "2025-02", {"n1", "n2"}) is None
    assert unit_problem("NOPE", "2025-02", {"n1"}) == (
        "'NOPE' is not a unit of the organisation in 2025-02"
    )
    assert unit_problem("nn1", "2025-02", {"n1", "south"}) == (
        "'nn1' is not a unit of the organisation in 2025-02; did you mean n1?"
    )


async def test_rows_for_units_outside_the_org_of_their_period_are_rejected(
    harness: Harness,
) -> None:
    # The org exists from the middle of January 2025: January counts (its last day), 2024
    # does not.
    await survey_kit.make_org(harness.survey, since=date(2025, 1, 15))
    definition = await survey_kit.published_survey(harness.survey)
    header = pb.ImportHeader(
        survey_id=definition.survey_id, survey_version=definition.version, source_name="h.csv"
    )
    rows = [
        row(2, "n1", "2025-01"),
        row(3, "NOPE", "2025-01"),
        row(4, "n2", "2025-02"),
        row(5, "n2", "2024-12"),
        row(6, "ZZZ-not-a-unit", "2025-02"),
        row(7, "n22", "2025-02"),
    ]
    dry = pb.ImportHeader()
    dry.CopyFrom(header)
    dry.dry_run = True
    for attempt in (dry, header):
        reply = await send(harness, attempt, rows)
        assert reply.accepted == 2
        assert [(r.line, r.field, r.reason) for r in reply.rejected] == [
            (3, "unit_id", "'NOPE' is not a unit of the organisation in 2025-01"),
            (5, "unit_id", "'n2' is not a unit of the organisation in 2024-12"),
            (6, "unit_id", "'ZZZ-not-a-unit' is not a unit of the organisation in 2025-02"),
            (7, "unit_id", "'n22' is not a unit of the organisation in 2025-02; did you mean n2?"),
        ]
    stored = await harness.pool.fetch("SELECT unit_id, period FROM responses ORDER BY unit_id")
    assert [(r["unit_id"], r["period"]) for r in stored] == [("n1", "2025-01"), ("n2", "2025-02")]


async def test_a_survey_service_failure_is_unavailable_and_stores_nothing(
    harness: Harness,
) -> None:
    await survey_kit.make_org(harness.survey, since=date(2025, 1, 1))
    definition = await survey_kit.published_survey(harness.survey)
    header = pb.ImportHeader(
        survey_id=definition.survey_id, survey_version=definition.version, source_name="h.csv"
    )
    dry = pb.ImportHeader()
    dry.CopyFrom(header)
    dry.dry_run = True
    # The version is now in the response service's own cache: only the org is asked below.
    assert (await send(harness, dry, [row(2, "n1", "2025-03")])).accepted == 1
    audited = await harness.pool.fetchval("SELECT count(*) FROM import_audit")

    await harness.stack.services["survey"].stop(grace_s=0.2)
    error = await rpc_error(send(harness, header, [row(2, "n1", "2025-04")]))
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert "survey service" in (error.details() or "")
    assert await harness.pool.fetchval("SELECT count(*) FROM responses") == 0
    assert await harness.pool.fetchval("SELECT count(*) FROM import_audit") == audited
