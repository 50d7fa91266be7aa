"""Actions through the real service: record one, list it, and read it with its before/after
and the difference-in-differences against units without an action; a planted effect of the
action is recovered within its interval, and equals the arithmetic on the raw answers."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict

import grpc
import nats
import numpy as np
import pytest
from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse.correlation.v1 import correlation_service_pb2_grpc as pb_grpc
from pulse.events.v1 import events_pb2
from pulse.types.v1 import types_pb2
from pulse_common import subjects
from pulse_common.config import Settings
from pulse_common.messaging import publish_event
from pulse_correlation.app import DEFINITION
from pulse_testing.correlation import eventually, publish_org, publish_surveys
from pulse_testing.security import as_viewer, tools_channel
from pulse_testing.stack import inprocess_stack

UNITS = [f"U{i:02d}" for i in range(1, 13)]
PERIODS = [f"2026-0{m}" for m in range(1, 7)]
ACTED = "U01"
EFFECT = 1.0  # planted, on the 1-5 scale: 25 points on 0-100
SURVEY = types_pb2.SurveyDefinition(
    survey_id="emp",
    version=1,
    kind=types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
    items=[
        types_pb2.Item(item_id="s1", construct="treatment.support", scale=types_pb2.SCALE_LIKERT_5)
    ],
    min_group_size=5,
)


def simulate(
    rng: random.Random,
) -> tuple[dict[tuple[str, str], list[float]], list[events_pb2.ResponseRecorded]]:
    """A common upward trend everywhere; the acted unit gains EFFECT from April on."""
    raw: dict[tuple[str, str], list[float]] = defaultdict(list)
    events = []
    for unit in UNITS:
        level = rng.uniform(-0.5, 0.5)
        for month, period in enumerate(PERIODS):
            latent = level + 0.1 * month + (EFFECT if unit == ACTED and month >= 3 else 0.0)
            for _ in range(6):
                score = int(min(5, max(1, round(2.5 + latent + rng.gauss(0, 0.6)))))
                raw[(unit, period)].append((score - 1) / 4 * 100)
                events.append(
                    events_pb2.ResponseRecorded(
                        response_id=str(uuid.uuid4()),
                        survey_id="emp",
                        survey_version=1,
                        kind=SURVEY.kind,
                        unit_id=unit,
                        period=period,
                        answers=[types_pb2.Answer(item_id="s1", score=score)],
                    )
                )
    return raw, events


def change(raw: dict[tuple[str, str], list[float]], unit: str) -> float:
    before = np.mean([np.mean(raw[(unit, p)]) for p in PERIODS[:3]])
    after = np.mean([np.mean(raw[(unit, p)]) for p in PERIODS[3:]])
    return float(after - before)


async def test_a_planted_action_effect_is_recovered(settings: Settings) -> None:
    raw, events = simulate(random.Random(2))
    async with inprocess_stack(settings, [DEFINITION]) as stack:
        assert stack.settings.nats_url is not None
        nc = await nats.connect(stack.settings.nats_url)
        js = nc.jetstream()
        try:
            await publish_org(js, [("R", ""), *((u, "R") for u in UNITS)])
            await publish_surveys(js, [SURVEY])
            for e in events:
                await publish_event(js, subjects.RESPONSE_RECORDED, e, msg_id=e.response_id)
            async with tools_channel(stack.address("correlation")) as channel:
                stub = pb_grpc.CorrelationServiceStub(channel)

                async def counted() -> bool:
                    stats = await stub.GetIngestionStats(pb.GetIngestionStatsRequest())
                    return stats.responses_counted == len(events) and stats.units_known > 12

                await eventually(counted, limit_s=60)
                added = await stub.AddAction(
                    pb.AddActionRequest(
                        unit_id=ACTED,
                        measure="treatment.support",
                        title="Weekly one-to-ones with every agent",
                        owner="Team lead",
                        start_date="2026-04-01",
                    )
                )
                action = added.action
                assert action.outcome == "csat"
                listed = await stub.ListActions(pb.ListActionsRequest(unit_id=ACTED))
                assert [a.action_id for a in listed.actions] == [action.action_id]
                assert (await stub.ListActions(pb.ListActionsRequest(unit_id="U02"))).actions == []

                view = await stub.GetAction(pb.GetActionRequest(action_id=action.action_id))
                assert view.start_period == "2026-04"
                assert [p.period for p in view.measure_points] == PERIODS
                assert [p.value for p in view.measure_points] == pytest.approx(
                    [float(np.mean(raw[(ACTED, p)])) for p in PERIODS]
                )
                same, plus1, plus2 = view.comparisons
                assert (same.measure, same.when) == ("treatment.support", "")
                others = [change(raw, u) for u in UNITS if u != ACTED]
                expected = change(raw, ACTED) - float(np.mean(others))
                assert same.computed
                assert same.method == "prediction"
                assert same.comparison_units == len(UNITS) - 1
                assert same.estimate == pytest.approx(expected, abs=1e-9)
                assert same.ci_low <= EFFECT * 25 <= same.ci_high
                assert same.ci_low > 0
                assert "evidence, not proof" in same.text
                # No customer answers: the outcome comparisons say so instead of a number.
                assert (plus1.when, plus2.when) == ("+1", "+2")
                assert not plus1.computed
                assert "No comparison" in plus1.text

                for request, field in [
                    (
                        pb.AddActionRequest(unit_id="", measure="csat", title="x", owner="o"),
                        "unit_id",
                    ),
                    (
                        pb.AddActionRequest(unit_id="U02", measure="mood", title="x", owner="o"),
                        "measure",
                    ),
                    (
                        pb.AddActionRequest(unit_id="U02", measure="csat", title="", owner="o"),
                        "title",
                    ),
                    (
                        pb.AddActionRequest(
                            unit_id="U02",
                            measure="csat",
                            title="x",
                            owner="o",
                            start_date="2026-4-1",
                        ),
                        "start_date",
                    ),
                ]:
                    with pytest.raises(grpc.aio.AioRpcError) as caught:
                        await stub.AddAction(request)
                    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, field
                    assert field in (caught.value.details() or ""), field
                # A leader scoped to another unit neither sees nor reads the action.
                other = as_viewer("lead-u02", scope="U02")
                hidden = await stub.ListActions(pb.ListActionsRequest(), metadata=other)
                assert list(hidden.actions) == []
                with pytest.raises(grpc.aio.AioRpcError) as denied:
                    await stub.GetAction(
                        pb.GetActionRequest(action_id=action.action_id), metadata=other
                    )
                assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
                mine = as_viewer("lead-root", scope="R")
                seen = await stub.ListActions(pb.ListActionsRequest(), metadata=mine)
                assert [a.action_id for a in seen.actions] == [action.action_id]
                with pytest.raises(grpc.aio.AioRpcError) as missing:
                    await stub.GetAction(pb.GetActionRequest(action_id=str(uuid.uuid4())))
                assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        finally:
            await nc.close()
