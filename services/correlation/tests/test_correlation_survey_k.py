"""k per survey: released numbers respect max(deployment k, the k a survey version promised
its respondents), in scores and in linkage reports, on real PostgreSQL and NATS."""

from __future__ import annotations

import random
import uuid

import nats
from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse.correlation.v1 import correlation_service_pb2_grpc as pb_grpc
from pulse.events.v1 import events_pb2
from pulse.types.v1 import types_pb2
from pulse_common import subjects
from pulse_common.config import Settings
from pulse_common.messaging import publish_event
from pulse_correlation.app import DEFINITION
from pulse_correlation.confidentiality import (
    BELOW_K,
    COMPLEMENTARY,
    ROLLED_UP,
    Tree,
    effective_k,
    release_hierarchy,
)
from pulse_correlation.org import ORG_ROOT
from pulse_testing.correlation import eventually, publish_org, publish_surveys
from pulse_testing.security import as_viewer, tools_channel
from pulse_testing.stack import inprocess_stack

L5 = types_pb2.SCALE_LIKERT_5


def survey(
    survey_id: str, kind: types_pb2.SurveyKind.ValueType, items: dict[str, str], k: int
) -> types_pb2.SurveyDefinition:
    scale = L5 if kind == types_pb2.SURVEY_KIND_EMPLOYEE_PULSE else types_pb2.SCALE_CSAT_1_5
    return types_pb2.SurveyDefinition(
        survey_id=survey_id,
        version=1,
        kind=kind,
        items=[types_pb2.Item(item_id=i, construct=c, scale=scale) for i, c in items.items()],
        min_group_size=k,
    )


# Fairness is asked by a survey that promised k = 7, support by one that promised 5.
FAIR_K7 = survey("fair7", types_pb2.SURVEY_KIND_EMPLOYEE_PULSE, {"f1": "treatment.fairness"}, 7)
SUPPORT_K5 = survey("sup5", types_pb2.SURVEY_KIND_EMPLOYEE_PULSE, {"s1": "treatment.support"}, 5)
CSAT_K5 = survey("csat5", types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION, {"c1": "csat"}, 5)


def answer(
    definition: types_pb2.SurveyDefinition, unit: str, score: int
) -> events_pb2.ResponseRecorded:
    return events_pb2.ResponseRecorded(
        response_id=str(uuid.uuid4()),
        survey_id=definition.survey_id,
        survey_version=definition.version,
        kind=definition.kind,
        unit_id=unit,
        period="2026-03",
        answers=[types_pb2.Answer(item_id=definition.items[0].item_id, score=score)],
    )


def test_releases_use_the_larger_k_per_measure() -> None:
    measure_k = {"employee:treatment.fairness": 7, "employee:engagement": 3}
    assert effective_k(5, measure_k, "employee:treatment.fairness") == 7
    assert effective_k(5, measure_k, "employee:treatment.support") == 5
    # A survey k below the deployment's never lowers it.
    assert effective_k(5, measure_k, "employee:engagement") == 5
    tree = Tree(ORG_ROOT, {"A": ORG_ROOT, "T1": "A", "T2": "A"})
    own = {"T1": {"T1@2026-03": 6}, "T2": {"T2@2026-03": 10}}
    fair = release_hierarchy(tree, own, "employee:treatment.fairness", 7, releasable_root=False)
    # T1 (6 < 7) rolls up into A; T2 alone would leave A - T2 = 6 < 7, so it is hidden too.
    assert sorted(fair.released) == ["A"]
    assert fair.reasons == {"T1": ROLLED_UP + "A", "T2": COMPLEMENTARY}
    support = release_hierarchy(tree, own, "employee:treatment.support", 5, releasable_root=False)
    assert sorted(support.released) == ["A", "T1", "T2"]
    below = release_hierarchy(tree, {"T1": {"T1@2026-03": 6}}, "m", 7, releasable_root=False)
    assert below.reasons == {"A": BELOW_K, "T1": ROLLED_UP + "A"}


async def test_a_survey_promising_k7_suppresses_a_group_of_6(settings: Settings) -> None:
    assert settings.min_group_size == 5
    rng = random.Random(3)
    async with inprocess_stack(settings, [DEFINITION]) as stack:
        assert stack.settings.nats_url is not None
        nc = await nats.connect(stack.settings.nats_url)
        js = nc.jetstream()
        try:
            await publish_org(js, [("R", ""), ("A", "R"), ("T1", "A"), ("T2", "A")])
            await publish_surveys(js, (FAIR_K7, SUPPORT_K5, CSAT_K5))
            events = []
            for unit, size in (("T1", 6), ("T2", 10)):
                for _ in range(size):
                    events.append(answer(FAIR_K7, unit, rng.randint(1, 5)))
                    events.append(answer(SUPPORT_K5, unit, rng.randint(1, 5)))
                for _ in range(9):
                    events.append(answer(CSAT_K5, unit, rng.randint(1, 5)))
            for event in events:
                await publish_event(js, subjects.RESPONSE_RECORDED, event, msg_id=event.response_id)
            async with tools_channel(stack.address("correlation")) as channel:
                stub = pb_grpc.CorrelationServiceStub(channel)

                async def counted() -> bool:
                    stats = await stub.GetIngestionStats(pb.GetIngestionStatsRequest())
                    return stats.responses_counted == len(events)

                await eventually(counted)

                async def cells(viewer_id: str, construct: str) -> pb.GetScoresResponse:
                    return await stub.GetScores(
                        pb.GetScoresRequest(
                            constructs=[construct],
                        ),
                        metadata=as_viewer(viewer_id, "A"),
                    )

                # Fairness (k = 7): T1's 6 people roll up into A; T2 alone would leave
                # A - T2 = 6 < 7, so it is suppressed too; A (16) is shown.
                fair = await cells("v1", "treatment.fairness")
                assert fair.min_group_size == 7
                by_unit = {c.unit_id: c for c in fair.cells}
                assert by_unit["T1"].suppressed
                assert by_unit["T1"].suppression_reason == ROLLED_UP + "A"
                assert by_unit["T1"].n == 0
                assert by_unit["T2"].suppressed
                assert by_unit["T2"].suppression_reason == "complementary"
                assert not by_unit["A"].suppressed
                assert by_unit["A"].n == 16
                # Support (k = 5, same people counts): T1's 6 are released.
                support = await cells("v2", "treatment.support")
                assert support.min_group_size == 5
                by_unit = {c.unit_id: c for c in support.cells}
                assert not by_unit["T1"].suppressed
                assert by_unit["T1"].n == 6

                # Reports: the fairness predictor's k = 7 rolls T1 (6) into its parent; T2 (10)
                # alone is not a union of the released atoms (A's residual holds T1 and T2), so
                # T1 and T2 form one analysis unit under A.
                report = (
                    await stub.RunLinkageReport(
                        pb.RunLinkageReportRequest(
                            predictors=["treatment.fairness"],
                            outcome="csat",
                            options=pb.LinkageOptions(
                                bootstrap_resamples=0, permutation_resamples=0
                            ),
                        ),
                        metadata=as_viewer("v3"),
                    )
                ).report
                assert report.min_group_size == 7
                assert [p.unit_id for p in report.linkages[0].points] == ["A"]
                assert "T1" in [s.unit_id for s in report.suppressions]
                with_support = (
                    await stub.RunLinkageReport(
                        pb.RunLinkageReportRequest(
                            predictors=["treatment.support"],
                            outcome="csat",
                            options=pb.LinkageOptions(
                                bootstrap_resamples=0, permutation_resamples=0
                            ),
                        ),
                        metadata=as_viewer("v4"),
                    )
                ).report
                assert with_support.min_group_size == 5
                assert [p.unit_id for p in with_support.linkages[0].points] == ["T1", "T2"]
        finally:
            await nc.close()
