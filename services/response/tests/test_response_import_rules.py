"""Imports cannot pad a group: an import into a period that is still open, or that already
holds responses (whose numbers may have been released), is refused; every import and every
refused attempt is in the audit (who, when, how many rows, which units and periods); live
and imported counts are told apart."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import date

import grpc
from pulse.response.v1 import response_service_pb2 as pb
from pulse.types.v1 import types_pb2 as t
from pulse_response import import_rules
from pulse_testing.response import (
    Harness,
    employee_answers,
    employee_wave,
    rpc_error,
)
from pulse_testing.security import caller

CLOSED = "2025-11"


def rows(unit: str, period: str, count: int, first_line: int = 2) -> list[pb.ImportRow]:
    return [
        pb.ImportRow(
            line=first_line + i,
            unit_id=unit,
            period=period,
            kind=t.SURVEY_KIND_EMPLOYEE_PULSE,
            answers=employee_answers(enps=i % 11),
        )
        for i in range(count)
    ]


async def send(
    h: Harness, survey_id: str, version: int, body: Iterable[pb.ImportRow], source: str = ""
) -> pb.ImportResponsesResponse:
    async def stream() -> AsyncIterator[pb.ImportResponsesRequest]:
        header = pb.ImportHeader(survey_id=survey_id, survey_version=version, source_name=source)
        yield pb.ImportResponsesRequest(header=header)
        for row in body:
            yield pb.ImportResponsesRequest(row=row)

    admin = caller("alice", ("admin",))
    reply: pb.ImportResponsesResponse = await h.response.ImportResponses(stream(), metadata=admin)
    return reply


def test_the_rule_refuses_open_and_measured_periods() -> None:
    today = date(2026, 3, 10)
    assert import_rules.refusal(["2025-11", "2026-02"], today, []) is None
    still_open = import_rules.refusal(["2026-02", "2026-03"], today, [])
    assert still_open is not None
    assert "2026-03 are still open" in still_open
    held = import_rules.refusal(["2025-11", "2025-12"], today, ["2025-12"])
    assert held is not None
    assert "2025-12 already hold responses" in held


async def test_the_padding_attack_is_refused_and_audited(harness: Harness) -> None:
    # One person in team n1 answers live; four invented rows would release n1 at n = 5.
    wave = await employee_wave(harness, {"n1": 1}, org_since=date(2025, 1, 1))
    survey_id, version = wave.definition.survey_id, wave.definition.version
    await harness.response.Submit(
        pb.SubmitRequest(
            token=wave.tokens[0], answers=employee_answers(), idempotency_key=uuid.uuid4().hex
        )
    )
    padding = rows("n1", wave.period, 4)
    error = await rpc_error(send(harness, survey_id, version, padding, "padding.csv"))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "still open" in (error.details() or "")
    assert await harness.pool.fetchval("SELECT count(*) FROM responses") == 1

    # History of a closed period that nobody measured: accepted, once.
    first = await send(harness, survey_id, version, rows("n1", CLOSED, 5), "history.csv")
    assert first.accepted == 5
    again = await send(harness, survey_id, version, rows("n1", CLOSED, 5), "history.csv")
    assert again.batch_id == first.batch_id  # the same file changes nothing
    # Any other rows for that period would change numbers that may have been released.
    error = await rpc_error(send(harness, survey_id, version, rows("n2", CLOSED, 4, 10)))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "already hold responses" in (error.details() or "")
    assert await harness.pool.fetchval("SELECT count(*) FROM responses") == 6

    audit = await harness.response.ListImports(
        pb.ListImportsRequest(), metadata=caller("alice", ("admin",))
    )
    entries = [(r.outcome, r.accepted, list(r.unit_ids), list(r.periods)) for r in audit.imports]
    assert sorted(entries) == sorted(
        [
            ("refused", 0, ["n1"], [wave.period]),
            ("imported", 5, ["n1"], [CLOSED]),
            ("imported", 5, ["n1"], [CLOSED]),
            ("refused", 0, ["n2"], [CLOSED]),
        ]
    )
    assert {r.imported_by for r in audit.imports} == {"tools:alice"}
    assert all(r.imported_at for r in audit.imports)
    refused = [r for r in audit.imports if r.outcome == "refused"]
    assert all(r.reason for r in refused)
    assert {r.source_name for r in audit.imports} >= {"padding.csv", "history.csv"}

    # Counts tell live and imported responses apart.
    counts = await harness.response.CountResponses(
        pb.CountResponsesRequest(survey_id=survey_id, period=CLOSED)
    )
    assert [(c.unit_id, c.responses, c.imported) for c in counts.counts] == [("n1", 5, 5)]


async def test_imports_are_for_admins_only(harness: Harness) -> None:
    for role in ("analyst", "leader", "respondent-front", "response"):
        error = await rpc_error(
            harness.response.ListImports(
                pb.ListImportsRequest(), metadata=caller("someone", (role,))
            )
        )
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED, role
