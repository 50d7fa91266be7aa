"""The dated org hierarchy through gRPC, against real PostgreSQL and NATS."""

from __future__ import annotations

from datetime import timedelta

import grpc
from pulse.events.v1 import events_pb2
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse_testing.survey import (
    TODAY,
    Survey,
    field_of,
    import_roster,
    make_org,
    read_events,
    rows,
    rpc_error,
)


def ids(reply: pb.ListUnitsResponse) -> dict[str, tuple[str, int]]:
    return {u.unit_id: (u.parent_id, u.depth) for u in reply.units}


async def test_history_is_kept_when_units_move_and_merge(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub)
    await import_roster(stub, rows({"n1": 2, "n2": 3}))
    moved_on = TODAY - timedelta(days=10)
    await stub.UpdateUnit(
        pb.UpdateUnitRequest(unit_id="n2", parent_id="south", effective_from=moved_on.isoformat())
    )
    before = ids(
        await stub.ListUnits(pb.ListUnitsRequest(as_of=(moved_on - timedelta(days=1)).isoformat()))
    )
    after = ids(await stub.ListUnits(pb.ListUnitsRequest(as_of=moved_on.isoformat())))
    assert before["n2"] == ("north", 2)
    assert after["n2"] == ("south", 2)

    merged = await stub.MergeUnits(
        pb.MergeUnitsRequest(
            source_unit_id="north", target_unit_id="south", effective_from=TODAY.isoformat()
        )
    )
    assert merged.target.unit_id == "south"
    assert merged.people_moved == 0  # north itself had nobody; its child n1 moves with it
    today = ids(await stub.ListUnits(pb.ListUnitsRequest()))
    assert "north" not in today
    assert today["n1"] == ("south", 2)
    subtree = ids(await stub.ListUnits(pb.ListUnitsRequest(root_unit_id="south")))
    assert set(subtree) == {"south", "n1", "n2"}
    yesterday = ids(
        await stub.ListUnits(pb.ListUnitsRequest(as_of=(TODAY - timedelta(days=1)).isoformat()))
    )
    assert yesterday["n1"] == ("north", 2)

    events = await read_events(survey.nats_url, "pulse.org.changed", events_pb2.OrgChanged, 8)
    changes = [(e.unit_id, e.change) for e in sorted(events, key=lambda e: e.org_version)]
    assert changes[:5] == [(u, "created") for u in ("root", "north", "south", "n1", "n2")]
    assert ("n2", "moved") in changes
    assert ("north", "merged") in changes
    assert ("n1", "moved") in changes
    versions = [e.org_version for e in events]
    assert len(set(versions)) == len(versions)
    merged_event = next(e for e in events if e.change == "merged")
    assert merged_event.merged_into == "south"
    assert merged_event.valid_to == TODAY.isoformat()


async def test_merge_moves_people(survey: Survey) -> None:
    await make_org(survey.stub)
    await import_roster(survey.stub, rows({"n1": 4}))
    merged = await survey.stub.MergeUnits(
        pb.MergeUnitsRequest(source_unit_id="n1", target_unit_id="n2")
    )
    assert merged.people_moved == 4
    units = await survey.pool.fetch("SELECT DISTINCT unit_id FROM survey.people")
    assert [r["unit_id"] for r in units] == ["n2"]


async def test_bad_requests_name_the_field_and_write_nothing(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub)
    count = await survey.pool.fetchval("SELECT count(*) FROM survey.org_versions")

    error = await rpc_error(
        stub.CreateUnit(
            pb.CreateUnitRequest(unit_id="bad id!", name="x", unit_type=pb.UNIT_TYPE_FRONT_LINE)
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_of(error) == "unit_id"
    error = await rpc_error(
        stub.CreateUnit(
            pb.CreateUnitRequest(unit_id="x", name="", unit_type=pb.UNIT_TYPE_FRONT_LINE)
        )
    )
    assert field_of(error) == "name"
    error = await rpc_error(stub.CreateUnit(pb.CreateUnitRequest(unit_id="x", name="X")))
    assert field_of(error) == "unit_type"
    error = await rpc_error(
        stub.CreateUnit(
            pb.CreateUnitRequest(
                unit_id="x",
                name="X",
                unit_type=pb.UNIT_TYPE_FRONT_LINE,
                effective_from="2025-02-30",
            )
        )
    )
    assert field_of(error) == "effective_from"
    # A cycle: root under its own grandchild.
    error = await rpc_error(stub.UpdateUnit(pb.UpdateUnitRequest(unit_id="root", parent_id="n1")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_of(error) == "parent_id"
    error = await rpc_error(
        stub.CreateUnit(
            pb.CreateUnitRequest(unit_id="root", name="Again", unit_type=pb.UNIT_TYPE_FRONT_LINE)
        )
    )
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    error = await rpc_error(
        stub.CreateUnit(
            pb.CreateUnitRequest(
                unit_id="x", name="X", unit_type=pb.UNIT_TYPE_FRONT_LINE, parent_id="nope"
            )
        )
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    # Rewriting history before the current version is refused.
    error = await rpc_error(
        stub.UpdateUnit(pb.UpdateUnitRequest(unit_id="n1", name="Old", effective_from="2000-01-01"))
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert await survey.pool.fetchval("SELECT count(*) FROM survey.org_versions") == count
