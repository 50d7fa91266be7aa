"""Viewer scope (DESIGN §3): a scoped viewer reads only its own subtree, which comes from the
real survey service's org tree; the subtree cache's rules on their own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable

import grpc
import pytest
from pulse.response.v1 import response_service_pb2 as pb
from pulse.types.v1 import types_pb2 as t
from pulse_common import errors
from pulse_common.scope import ScopeCache
from pulse_response import repository
from pulse_response.domain import Group, NewResponse, ValidatedAnswers
from pulse_testing.response import Harness, field_of, rpc_error
from pulse_testing.security import as_viewer

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


def viewer(scope: str) -> tuple[tuple[str, str]]:
    """The call metadata of a leader whose token covers ``scope`` ("" = everything)."""
    return as_viewer("lead-1", scope)


async def make_org(h: Harness) -> None:
    from pulse_testing import survey as survey_kit

    await survey_kit.make_org(h.survey)  # root > north > {n1, n2}, south


async def test_comments_and_counts_stay_inside_the_viewers_subtree(harness: Harness) -> None:
    await make_org(harness)
    for unit, n in (("n1", 10), ("n2", 6), ("south", 12)):
        await seed(harness, unit, n, EMPLOYEE)

    def comments(unit: str, scope: str) -> Awaitable[pb.ListCommentsResponse]:
        request = pb.ListCommentsRequest(unit_id=unit, period=PERIOD, survey_id="emp")
        return harness.response.ListComments(request, metadata=viewer(scope))

    inside = await comments("n1", "north")
    assert sorted(c.text for c in inside.comments) == sorted(f"n1 note {i}" for i in range(10))
    # The scope root itself is in scope.
    own = await comments("south", "south")
    assert len(own.comments) == 12

    error = await rpc_error(comments("south", "north"))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error.details() == "unit south is outside your scope north"
    error = await rpc_error(comments("north", "n1"))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    error = await rpc_error(comments("n1", "atlantis"))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "atlantis" in (error.details() or "")
    # A token whose scope is not even a unit id is refused, never read as "everything".
    error = await rpc_error(comments("n1", "no such!"))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED

    async def counts(scope: str) -> list[tuple[str, int, bool]]:
        reply = await harness.response.CountResponses(
            pb.CountResponsesRequest(survey_id="emp", period=PERIOD), metadata=viewer(scope)
        )
        return [(c.unit_id, c.responses, c.suppressed) for c in reply.counts]

    assert await counts("north") == [("n1", 10, False), ("n2", 6, False)]
    assert await counts("n2") == [("n2", 6, False)]
    everything = [("n1", 10, False), ("n2", 6, False), ("south", 12, False)]
    assert await counts("") == everything
    assert await counts("root") == everything
    error = await rpc_error(
        harness.response.CountResponses(
            pb.CountResponsesRequest(survey_id="emp", period=PERIOD), metadata=viewer("atlantis")
        )
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_recognition_board_covers_the_subtree_group_by_group(harness: Harness) -> None:
    await make_org(harness)
    await seed(harness, "n1", 10, CUSTOMER, "n1 was lovely, mail me at a@example.com")
    await seed(harness, "n2", 11, CUSTOMER, "n2 was kind")
    await seed(harness, "north", 4, CUSTOMER, "north too few")  # under the comment threshold
    await seed(harness, "south", 10, CUSTOMER, "south out of scope")

    def board(
        unit: str, scope: str, limit: int = 0, status: int = pb.RECOGNITION_STATUS_PENDING
    ) -> Awaitable[pb.ListRecognitionResponse]:
        request = pb.ListRecognitionRequest(
            unit_id=unit,
            period_from=PERIOD,
            period_to=PERIOD,
            limit=limit,
            status=pb.RecognitionStatus.ValueType(status),
        )
        return harness.response.ListRecognition(request, metadata=viewer(scope))

    # Every shared story waits for a team lead first: the queue, group by group.
    subtree = await board("", "north")
    assert [(e.unit_id, e.text) for e in subtree.entries] == [
        ("n1", "n1 was lovely, mail me at [email removed]"),
        ("n2", "n2 was kind"),
    ]
    assert {e.status for e in subtree.entries} == {pb.RECOGNITION_STATUS_PENDING}
    assert subtree.suppressed
    assert subtree.suppression_reason.startswith("1 unit-period group(s) had fewer than 10")
    assert (await board("", "north", status=0)).entries == []  # nothing approved yet

    one = await board("n2", "north")
    assert [e.unit_id for e in one.entries] == ["n2"]
    assert not one.suppressed
    first = await board("", "north", limit=1)
    assert [e.unit_id for e in first.entries] == ["n1"]

    error = await rpc_error(board("south", "north"))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error.details() == "unit south is outside your scope north"

    # No scope: the whole organisation, still group by group.
    whole = await board("", "")
    assert [e.unit_id for e in whole.entries] == ["n1", "n2", "south"]
    assert whole.suppressed


async def test_team_leads_moderate_stories_of_their_own_units(harness: Harness) -> None:
    await make_org(harness)
    await seed(harness, "n1", 10, CUSTOMER, "Thanks to Maria Lopez, quick and kind.")
    await seed(harness, "south", 10, CUSTOMER, "South did well.")
    await seed(harness, "north", 4, CUSTOMER, "north too few")

    def decide(entry_id: str, status: int, scope: str) -> Awaitable[pb.ModerateRecognitionResponse]:
        request = pb.ModerateRecognitionRequest(
            entry_id=entry_id, status=pb.RecognitionStatus.ValueType(status)
        )
        return harness.response.ModerateRecognition(request, metadata=viewer(scope))

    def listed(status: int, **fields: object) -> Awaitable[pb.ListRecognitionResponse]:
        request = pb.ListRecognitionRequest(
            period_from=PERIOD,
            period_to=PERIOD,
            status=pb.RecognitionStatus.ValueType(status),
            **fields,  # type: ignore[arg-type]
        )
        return harness.response.ListRecognition(request, metadata=viewer(""))

    queue = {e.unit_id: e for e in (await listed(pb.RECOGNITION_STATUS_PENDING)).entries}
    # Names of people are redacted, always.
    assert queue["n1"].text == "Thanks to [name], quick and kind."
    approved = await decide(queue["n1"].entry_id, pb.RECOGNITION_STATUS_APPROVED, "north")
    assert approved.entry.status == pb.RECOGNITION_STATUS_APPROVED
    board = await listed(0)
    assert [(e.unit_id, e.text) for e in board.entries] == [
        ("n1", "Thanks to [name], quick and kind.")
    ]
    # A lead decides only for units in their scope.
    error = await rpc_error(
        decide(queue["south"].entry_id, pb.RECOGNITION_STATUS_APPROVED, "north")
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    await decide(queue["south"].entry_id, pb.RECOGNITION_STATUS_REPORTED, "south")
    # The organisation-wide page: approved stories of every unit, whatever the scope.
    everywhere = await listed(0, organisation_wide=True)
    assert [e.unit_id for e in everywhere.entries] == ["n1"]
    # Hidden again: off the board (a decision can change).
    await decide(queue["n1"].entry_id, pb.RECOGNITION_STATUS_HIDDEN, "north")
    assert (await listed(0)).entries == []
    # Bad requests name the field; a story from a group under the threshold is not there.
    for entry_id, status, field in (
        ("not-an-id", pb.RECOGNITION_STATUS_APPROVED, "entry_id"),
        (queue["n1"].entry_id, pb.RECOGNITION_STATUS_PENDING, "status"),
    ):
        bad = await rpc_error(decide(entry_id, status, ""))
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_of(bad) == field
    hidden_row = await harness.pool.fetchval(
        "SELECT comment_id::text FROM response.comments WHERE text = 'north too few'"
    )
    missing = await rpc_error(decide(hidden_row, pb.RECOGNITION_STATUS_APPROVED, ""))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    wrong = await rpc_error(listed(0, organisation_wide=True, unit_id="n1"))
    assert field_of(wrong) == "organisation_wide"


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
