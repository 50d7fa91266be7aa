"""Viewer scope (DESIGN §3): a scoped viewer reads only its own subtree, which comes from the
real survey service's org tree; the subtree cache's rules on their own."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from pulse.response.v1 import response_service_pb2 as pb
from pulse.types.v1 import types_pb2 as t
from pulse_common import errors
from pulse_common.scope import ScopeCache
from pulse_response import repository
from pulse_response.domain import Group, NewResponse, ValidatedAnswers
from pulse_testing.response import Harness, field_of, rpc_error

PERIOD = "2025-11"
EMPLOYEE = int(t.SURVEY_KIND_EMPLOYEE_PULSE)
CUSTOMER = int(t.SURVEY_KIND_CUSTOMER_POST_INTERACTION)


async def seed(h: Harness, unit: str, n: int, kind: int, praise: str = "") -> None:
    """``n`` responses in ``unit``: employee ones each with a comment; customer ones with one
    consented top-box comment (``praise``) among them."""
    customer = kind == CUSTOMER
    async with h.db.unit_of_work() as uow:
        for i in range(n):
            comment = praise if customer and i == 0 and praise else ""
            if not customer:
                comment = f"{unit} note {i}"
            await repository.insert_response(
                uow.conn,
                NewResponse(
                    response_id=uuid.uuid4(),
                    survey_id="cust" if customer else "emp",
                    survey_version=1,
                    kind=kind,
                    group=Group(unit, PERIOD),
                    wave_id="",
                    channel="call" if customer else "",
                    source="import",
                    batch_id="",
                    answers=ValidatedAnswers(
                        scores=[("staff.1", 5)] if customer else [("rec.1", 4)],
                        comments=[("comment.1", comment)] if comment else [],
                        positive=customer,
                        staff_treatment_score=5 if customer else 0,
                    ),
                    shared_with_team=customer,
                ),
            )


def viewer(scope: str) -> t.Viewer:
    return t.Viewer(viewer_id="lead-1", scope_unit_id=scope)


async def make_org(h: Harness) -> None:
    from pulse_testing import survey as survey_kit

    await survey_kit.make_org(h.survey)  # root > north > {n1, n2}, south


async def test_comments_and_counts_stay_inside_the_viewers_subtree(harness: Harness) -> None:
    await make_org(harness)
    for unit, n in (("n1", 10), ("n2", 6), ("south", 12)):
        await seed(harness, unit, n, EMPLOYEE)

    def comments(unit: str, scope: str) -> pb.ListCommentsRequest:
        return pb.ListCommentsRequest(
            unit_id=unit, period=PERIOD, survey_id="emp", viewer=viewer(scope)
        )

    inside = await harness.response.ListComments(comments("n1", "north"))
    assert sorted(c.text for c in inside.comments) == sorted(f"n1 note {i}" for i in range(10))
    # The scope root itself is in scope.
    own = await harness.response.ListComments(comments("south", "south"))
    assert len(own.comments) == 12

    error = await rpc_error(harness.response.ListComments(comments("south", "north")))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error.details() == "unit south is outside your scope north"
    error = await rpc_error(harness.response.ListComments(comments("north", "n1")))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    error = await rpc_error(harness.response.ListComments(comments("n1", "atlantis")))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "atlantis" in (error.details() or "")
    error = await rpc_error(harness.response.ListComments(comments("n1", "no such!")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_of(error) == "viewer.scope_unit_id"

    async def counts(scope: str) -> list[tuple[str, int, bool]]:
        reply = await harness.response.CountResponses(
            pb.CountResponsesRequest(survey_id="emp", period=PERIOD, viewer=viewer(scope))
        )
        return [(c.unit_id, c.responses, c.suppressed) for c in reply.counts]

    assert await counts("north") == [("n1", 10, False), ("n2", 6, False)]
    assert await counts("n2") == [("n2", 6, False)]
    everything = [("n1", 10, False), ("n2", 6, False), ("south", 12, False)]
    assert await counts("") == everything
    assert await counts("root") == everything
    error = await rpc_error(
        harness.response.CountResponses(
            pb.CountResponsesRequest(survey_id="emp", period=PERIOD, viewer=viewer("atlantis"))
        )
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_recognition_board_covers_the_subtree_group_by_group(harness: Harness) -> None:
    await make_org(harness)
    await seed(harness, "n1", 10, CUSTOMER, "n1 was lovely, mail me at a@example.com")
    await seed(harness, "n2", 11, CUSTOMER, "n2 was kind")
    await seed(harness, "north", 4, CUSTOMER, "north too few")  # under the comment threshold
    await seed(harness, "south", 10, CUSTOMER, "south out of scope")

    def board(unit: str, scope: str, limit: int = 0) -> pb.ListRecognitionRequest:
        return pb.ListRecognitionRequest(
            unit_id=unit, period_from=PERIOD, period_to=PERIOD, viewer=viewer(scope), limit=limit
        )

    subtree = await harness.response.ListRecognition(board("", "north"))
    assert [(e.unit_id, e.text) for e in subtree.entries] == [
        ("n1", "n1 was lovely, mail me at [email removed]"),
        ("n2", "n2 was kind"),
    ]
    assert subtree.suppressed
    assert subtree.suppression_reason.startswith("1 unit-period group(s) had fewer than 10")

    one = await harness.response.ListRecognition(board("n2", "north"))
    assert [e.unit_id for e in one.entries] == ["n2"]
    assert not one.suppressed
    first = await harness.response.ListRecognition(board("", "north", limit=1))
    assert [e.unit_id for e in first.entries] == ["n1"]

    error = await rpc_error(harness.response.ListRecognition(board("south", "north")))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error.details() == "unit south is outside your scope north"

    # No scope: the whole organisation, still group by group.
    whole = await harness.response.ListRecognition(board("", ""))
    assert [e.unit_id for e in whole.entries] == ["n1", "n2", "south"]
    assert whole.suppressed


async def test_scope_cache_reuses_subtrees_for_its_ttl() -> None:
    now = [0.0]
    calls: list[str] = []
    tree = {"north": frozenset({"north", "n1", "n2"})}
    release = asyncio.Event()

    async def fetch(scope: str) -> frozenset[str] | None:
        calls.append(scope)
        await release.wait()
        if scope == "down":
            raise errors.Unavailable("the survey service is unavailable")
        return tree.get(scope)

    cache = ScopeCache(fetch, ttl_s=30, clock=lambda: now[0])
    # Concurrent misses share one call.
    waiting = [asyncio.ensure_future(cache.subtree("north")) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    assert {frozenset(units) for units in await asyncio.gather(*waiting)} == {tree["north"]}
    assert calls == ["north"]

    tree["north"] = frozenset({"north", "n1", "n2", "n3"})
    now[0] = 29.0
    assert "n3" not in await cache.subtree("north")
    now[0] = 30.0
    assert "n3" in await cache.subtree("north")
    assert calls == ["north", "north"]

    # Unknown scopes and failures are not cached, and fail closed.
    for _ in range(2):
        with pytest.raises(errors.PermissionDenied):
            await cache.subtree("atlantis")
        with pytest.raises(errors.Unavailable):
            await cache.subtree("down")
    assert calls.count("atlantis") == 2
    assert calls.count("down") == 2

    uncached = ScopeCache(fetch, ttl_s=0)
    await uncached.subtree("north")
    await uncached.subtree("north")
    assert calls.count("north") == 4

    small = ScopeCache(fetch, ttl_s=30, clock=lambda: now[0], max_scopes=1)
    tree["south"] = frozenset({"south"})
    await small.subtree("north")
    await small.subtree("south")
    await small.subtree("north")  # evicted by south, fetched again
    assert calls.count("north") == 6
