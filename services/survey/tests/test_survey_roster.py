"""Roster import: pseudonyms only, per-line rejects, full sync with its deactivation guard."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse_testing.survey import Survey, import_roster, make_org, rows, rpc_error


async def test_rows_are_validated_by_line_and_ids_are_pseudonymised(survey: Survey) -> None:
    await make_org(survey.stub)
    bad = [
        pb.ImportRosterRequest(
            row=pb.RosterRow(employee_id="X1", email="nope", unit_id="n1", line=7)
        ),
        pb.ImportRosterRequest(
            row=pb.RosterRow(employee_id="X2", email="a@b.co", unit_id="ghost", line=8)
        ),
        pb.ImportRosterRequest(
            row=pb.RosterRow(employee_id="E-n1-0", email="dup@b.co", unit_id="n1", line=9)
        ),
        pb.ImportRosterRequest(
            row=pb.RosterRow(
                employee_id="X3",
                email="c@b.co",
                unit_id="n1",
                start_date="2025-05-01",
                end_date="2025-01-01",
                line=10,
            )
        ),
    ]
    reply = await import_roster(survey.stub, [*rows({"n1": 3}), *bad])
    assert (reply.created, reply.updated, reply.unchanged) == (3, 0, 0)
    assert [(r.line, r.field) for r in reply.rejected] == [
        (7, "email"),
        (8, "unit_id"),
        (9, "employee_id"),
        (10, "end_date"),
    ]
    stored = await survey.pool.fetch("SELECT pseudonym FROM survey.people")
    assert len(stored) == 3
    assert all(len(r["pseudonym"]) == 64 and "E-" not in r["pseudonym"] for r in stored)

    again = await import_roster(survey.stub, rows({"n1": 3}))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    moved = await import_roster(
        survey.stub,
        [
            *rows({"n1": 2}),
            pb.ImportRosterRequest(
                row=pb.RosterRow(employee_id="E-n1-2", email="n1.2@example.com", unit_id="n2")
            ),
        ],
    )
    assert (moved.created, moved.updated, moved.unchanged) == (0, 1, 2)


async def test_full_sync_guard_dry_run_and_force(survey: Survey) -> None:
    await make_org(survey.stub)
    await import_roster(survey.stub, rows({"n1": 10}))
    # Dropping 3 of 10 (30 %) trips the default 20 % guard: nothing is written.
    error = await rpc_error(import_roster(survey.stub, rows({"n1": 7}), full_sync=True))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    details = error.details() or ""
    for says in ("3 of 10", "30%", "guard of 20%", "PULSE_DEACTIVATION_GUARD_SHARE", "--force"):
        assert says in details
    dry = await import_roster(
        survey.stub, rows({"n1": 7}), full_sync=True, force=True, dry_run=True
    )
    assert dry.dry_run
    assert dry.deactivated == 3
    active = "SELECT count(*) FROM survey.people WHERE active"
    assert await survey.pool.fetchval(active) == 10
    forced = await import_roster(survey.stub, rows({"n1": 7}), full_sync=True, force=True)
    assert forced.deactivated == 3
    assert forced.unchanged == 7
    assert await survey.pool.fetchval(active) == 7
    # Coming back reactivates.
    back = await import_roster(survey.stub, rows({"n1": 8}))
    assert back.updated == 1


async def test_options_must_come_first(survey: Survey) -> None:
    async def stream() -> AsyncIterator[pb.ImportRosterRequest]:
        yield pb.ImportRosterRequest(
            row=pb.RosterRow(employee_id="x", email="a@b.co", unit_id="n1")
        )

    error = await rpc_error(survey.stub.ImportRoster(stream()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert await survey.pool.fetchval("SELECT count(*) FROM survey.people") == 0
