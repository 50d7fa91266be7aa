"""Internal customers: dated "serves" links between a back-office unit and the front-line
units it serves, through gRPC, against real PostgreSQL and NATS."""

from __future__ import annotations

from datetime import timedelta

import grpc
from pulse.events.v1 import events_pb2
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse_testing.survey import TODAY, Survey, field_of, make_org, read_events, rpc_error


def pairs(reply: pb.ListServesResponse) -> list[tuple[str, str, str, str]]:
    return [(x.serving_unit_id, x.served_unit_id, x.valid_from, x.valid_to) for x in reply.links]


async def test_serves_links_are_dated_announced_and_never_overlap(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub)
    start = (TODAY - timedelta(days=30)).isoformat()
    end = (TODAY - timedelta(days=5)).isoformat()
    for served in ("n1", "n2"):
        await stub.SetServes(
            pb.SetServesRequest(serving_unit_id="south", served_unit_id=served, valid_from=start)
        )
    # South stops serving n2 five days ago: same pair and valid_from, with an end date.
    ended = await stub.SetServes(
        pb.SetServesRequest(
            serving_unit_id="south", served_unit_id="n2", valid_from=start, valid_to=end
        )
    )
    assert ended.link.valid_to == end

    today = pairs(await stub.ListServes(pb.ListServesRequest()))
    assert today == [("south", "n1", start, ""), ("south", "n2", start, end)]  # history
    now = pairs(await stub.ListServes(pb.ListServesRequest(as_of=TODAY.isoformat())))
    assert now == [("south", "n1", start, "")]
    before = (TODAY - timedelta(days=6)).isoformat()
    then = pairs(await stub.ListServes(pb.ListServesRequest(as_of=before)))
    assert [p[1] for p in then] == ["n1", "n2"]
    none = pairs(await stub.ListServes(pb.ListServesRequest(serving_unit_id="north")))
    assert none == []

    overlap = await rpc_error(
        stub.SetServes(
            pb.SetServesRequest(
                serving_unit_id="south",
                served_unit_id="n1",
                valid_from=(TODAY - timedelta(days=2)).isoformat(),
            )
        )
    )
    assert overlap.code() == grpc.StatusCode.FAILED_PRECONDITION
    # After the end date a new link of the same pair is fine.
    await stub.SetServes(
        pb.SetServesRequest(serving_unit_id="south", served_unit_id="n2", valid_from=end)
    )

    events = await read_events(survey.nats_url, "pulse.org.serves", events_pb2.ServesChanged, 4)
    got = [(e.serving_unit_id, e.served_unit_id, e.valid_from, e.valid_to) for e in events]
    assert got == [
        ("south", "n1", start, ""),
        ("south", "n2", start, ""),
        ("south", "n2", start, end),
        ("south", "n2", end, ""),
    ]


async def test_serves_requests_are_checked(survey: Survey) -> None:
    stub = survey.stub
    await make_org(stub)
    cases = [
        (pb.SetServesRequest(serving_unit_id="", served_unit_id="n1"), "serving_unit_id"),
        (pb.SetServesRequest(serving_unit_id="south", served_unit_id="bad id"), "served_unit_id"),
        (pb.SetServesRequest(serving_unit_id="n1", served_unit_id="n1"), "served_unit_id"),
        (
            pb.SetServesRequest(serving_unit_id="south", served_unit_id="n1", valid_from="2026-1"),
            "valid_from",
        ),
        (
            pb.SetServesRequest(
                serving_unit_id="south",
                served_unit_id="n1",
                valid_from=TODAY.isoformat(),
                valid_to=TODAY.isoformat(),
            ),
            "valid_to",
        ),
    ]
    for request, field in cases:
        error = await rpc_error(stub.SetServes(request))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, field
        assert field_of(error) == field
    missing = await rpc_error(
        stub.SetServes(pb.SetServesRequest(serving_unit_id="ghost", served_unit_id="n1"))
    )
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    bad_day = await rpc_error(stub.ListServes(pb.ListServesRequest(as_of="yesterday")))
    assert field_of(bad_day) == "as_of"
