"""Deterministic releases through the gRPC service (issue 13), on real PostgreSQL and NATS.

The issue's attack: a parent unit A holds a team T1 of 6 and a lone respondent in T2. The
per-viewer ledger showed the parent's leader A = 64.286 (n = 7) and the child's leader
T1 = 58.333 (n = 6), so the seventh person's answer was 7 x 64.286 - 6 x 58.333 = 100.0.
Now every viewer is shown the same released groups, T1 alone is never one of them, and a
late arrival after the release changes no released number. The differencing adversary
pools everything both leaders, an analyst and a fresh viewer were shown (scores, trends,
dashboard pages, before and after the late arrival) and subtracts every nested pair."""

from __future__ import annotations

import itertools

import nats
import pytest
from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse.correlation.v1 import correlation_service_pb2_grpc as pb_grpc
from pulse.events.v1 import events_pb2
from pulse.types.v1 import types_pb2
from pulse_common import subjects
from pulse_common.config import Settings
from pulse_common.messaging import publish_event
from pulse_correlation.app import DEFINITION
from pulse_testing.anonymity import linkage_line
from pulse_testing.correlation import (
    eventually,
    publish_org,
    publish_surveys,
    response_recorded,
)
from pulse_testing.security import as_viewer, tools_channel
from pulse_testing.stack import inprocess_stack

PERIOD = "2026-03"  # ended (and past its grace days) long before these tests run
SUPPORT = "treatment.support"
SURVEY = types_pb2.SurveyDefinition(
    survey_id="support5",
    version=1,
    kind=types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
    items=[types_pb2.Item(item_id="s1", construct=SUPPORT, scale=types_pb2.SCALE_LIKERT_5)],
    min_group_size=5,
)
# Likert 1-5 is 0, 25, 50, 75, 100 on the 0-100 scale: T1's six average 58.333, and with
# T2's lone 100 the seven average 64.286 (the issue's numbers).
T1_ANSWERS = [5, 4, 4, 3, 2, 2]
T2_ANSWER = 5
LATE_ANSWER = 1  # a second T2 respondent, counted after the period was released
K = 5


def answer(unit: str, score: int) -> events_pb2.ResponseRecorded:
    return response_recorded(SURVEY, unit, PERIOD, {"s1": score})


def to100(score: int) -> float:
    return (score - 1) * 25.0


class Seen:
    """Every released support cell shown to anyone: (unit, n, value)."""

    def __init__(self) -> None:
        self.cells: set[tuple[str, int, float]] = set()

    def add(self, cells: list[pb.ScoreCell]) -> None:
        for cell in cells:
            if cell.construct == SUPPORT and not cell.suppressed:
                self.cells.add((cell.unit_id, cell.n, round(cell.value, 6)))


async def ask_everything(
    stub: pb_grpc.CorrelationServiceAsyncStub, seen: Seen, viewer: str, scope: str
) -> list[tuple[str, int, float, bool, str]]:
    """What one viewer can ask about its scope; returns its GetScores cells."""
    meta = as_viewer(viewer, scope)
    scores = await stub.GetScores(
        pb.GetScoresRequest(period_from=PERIOD, period_to=PERIOD, constructs=[SUPPORT]),
        metadata=meta,
    )
    seen.add(list(scores.cells))
    units = {c.unit_id for c in scores.cells} | ({scope} if scope else set())
    for unit in sorted(units):
        trend = await stub.GetTrends(
            pb.GetTrendsRequest(
                unit_id=unit, construct=SUPPORT, period_from=PERIOD, period_to=PERIOD
            ),
            metadata=meta,
        )
        seen.add(list(trend.points))
        page = await stub.GetDashboard(
            pb.GetDashboardRequest(
                unit_id=unit, period_from=PERIOD, period_to=PERIOD, constructs=[SUPPORT]
            ),
            metadata=meta,
        )
        seen.add(list(page.cells))
    return sorted(
        (c.unit_id, c.n, round(c.value, 6), c.suppressed, c.suppression_reason)
        for c in scores.cells
    )


def differencing(seen: Seen, truth: dict[str, list[float]]) -> tuple[int, int, float]:
    """Subtract every pair of released numbers whose n differ by 1..k-1: a difference of
    one person is that person's answer. Returns (people matched to their answer, people,
    the matches expected from guessing each person's answer among the 5 scale points)."""
    recovered: set[tuple[str, float]] = set()
    for (_, n1, v1), (_, n2, v2) in itertools.permutations(seen.cells, 2):
        if n1 - n2 == 1:
            recovered.add(("?", round(n1 * v1 - n2 * v2, 3)))
    people = [(unit, value) for unit, values in truth.items() for value in values]
    matched = 0
    for unit, value in people:
        # The adversary knows the lone T2 respondent is the one who differs.
        if unit == "T2" and any(abs(v - value) < 0.01 for _, v in recovered):
            matched += 1
    return matched, len(people), len(people) / 5


@pytest.mark.anonymity
async def test_parent_and_child_leaders_cannot_isolate_the_seventh_person(
    settings: Settings,
) -> None:
    async with inprocess_stack(settings, [DEFINITION]) as stack:
        assert stack.settings.nats_url is not None
        nc = await nats.connect(stack.settings.nats_url)
        js = nc.jetstream()
        try:
            await publish_org(js, [("R", ""), ("A", "R"), ("T1", "A"), ("T2", "A")])
            await publish_surveys(js, (SURVEY,))
            first = [answer("T1", s) for s in T1_ANSWERS] + [answer("T2", T2_ANSWER)]
            for event in first:
                await publish_event(js, subjects.RESPONSE_RECORDED, event, msg_id=event.response_id)
            async with tools_channel(stack.address("correlation")) as channel:
                stub: pb_grpc.CorrelationServiceAsyncStub = pb_grpc.CorrelationServiceStub(channel)

                async def counted(n: int) -> None:
                    async def check() -> bool:
                        stats = await stub.GetIngestionStats(pb.GetIngestionStatsRequest())
                        return stats.responses_counted == n

                    await eventually(check)

                await counted(len(first))
                seen = Seen()
                # The child's leader asks first (the old ledger then showed T1 = 58.333).
                child = await ask_everything(stub, seen, "t1-lead", "T1")
                assert child == [("T1", 0, 0.0, True, "complementary")]
                parent = await ask_everything(stub, seen, "a-lead", "A")
                by_unit = {u: (n, v, s, r) for u, n, v, s, r in parent}
                assert by_unit["A"] == (7, round(450 / 7, 6), False, "")
                assert round(450 / 7, 3) == 64.286
                assert by_unit["T1"] == (0, 0.0, True, "complementary")
                assert by_unit["T2"] == (0, 0.0, True, "rolled_up_into:A")
                # The same question from the analyst (whole org) and a fresh viewer gives
                # the same answer as the parent's leader, whatever was asked before.
                analyst = await ask_everything(stub, seen, "analyst", "")
                assert [c for c in analyst if c[0] in {"A", "T1", "T2"}] == parent
                assert await ask_everything(stub, Seen(), "fresh", "A") == parent

                # A late arrival into the released period changes nothing shown.
                late = answer("T2", LATE_ANSWER)
                await publish_event(js, subjects.RESPONSE_RECORDED, late, msg_id=late.response_id)
                await counted(len(first) + 1)
                assert await ask_everything(stub, seen, "a-lead", "A") == parent
                assert await ask_everything(stub, seen, "t1-lead", "T1") == child
                assert await ask_everything(stub, seen, "late-viewer", "A") == parent
        finally:
            await nc.close()
    truth = {
        "T1": [to100(s) for s in T1_ANSWERS],
        "T2": [to100(T2_ANSWER), to100(LATE_ANSWER)],
    }
    matched, people, chance = differencing(seen, truth)
    linkage_line("differencing", matched, people, chance)
    assert {n for _, n, _ in seen.cells} == {7}  # A and R only, each 7 respondents
    assert matched == 0 <= chance
