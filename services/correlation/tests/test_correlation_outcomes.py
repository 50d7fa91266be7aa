"""Report outcomes beyond a mean-scored customer construct: NPS over time (per unit-period
NPS in repeated-measures, lagged and cross-lagged estimates) and an internal-service outcome,
checked against pulse_stats on values computed here from the raw answers."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict

import nats
import numpy as np
import pulse_stats
import pytest
from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse.correlation.v1 import correlation_service_pb2_grpc as pb_grpc
from pulse.events.v1 import events_pb2
from pulse.types.v1 import types_pb2
from pulse_common import subjects
from pulse_common.config import Settings
from pulse_common.messaging import publish_event
from pulse_correlation.app import DEFINITION
from pulse_testing.correlation import (
    assert_same_estimate,
    eventually,
    publish_org,
    publish_surveys,
)
from pulse_testing.security import as_viewer, tools_channel
from pulse_testing.stack import inprocess_stack

UNITS = [f"T{i:02d}" for i in range(1, 13)]
PERIODS = ["2026-01", "2026-02", "2026-03"]


def definition(
    survey_id: str,
    kind: types_pb2.SurveyKind.ValueType,
    item_id: str,
    construct: str,
    scale: types_pb2.Scale.ValueType,
) -> types_pb2.SurveyDefinition:
    return types_pb2.SurveyDefinition(
        survey_id=survey_id,
        version=1,
        kind=kind,
        items=[types_pb2.Item(item_id=item_id, construct=construct, scale=scale)],
        min_group_size=5,
    )


EMPLOYEE = definition(
    "emp",
    types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
    "f1",
    "treatment.fairness",
    types_pb2.SCALE_LIKERT_5,
)
CUSTOMER = definition(
    "cust",
    types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION,
    "n1",
    "nps",
    types_pb2.SCALE_NPS_0_10,
)
INTERNAL = definition(
    "internal", types_pb2.SURVEY_KIND_INTERNAL_SERVICE, "i1", "csat", types_pb2.SCALE_CSAT_1_5
)


def event(
    survey: types_pb2.SurveyDefinition, unit: str, period: str, score: int
) -> events_pb2.ResponseRecorded:
    return events_pb2.ResponseRecorded(
        response_id=str(uuid.uuid4()),
        survey_id=survey.survey_id,
        survey_version=1,
        kind=survey.kind,
        unit_id=unit,
        period=period,
        answers=[types_pb2.Answer(item_id=survey.items[0].item_id, score=score)],
    )


def simulate(rng: random.Random) -> list[events_pb2.ResponseRecorded]:
    """Unit quality and a per-period drift move fairness, NPS and internal ratings together."""
    events = []
    for index, unit in enumerate(UNITS):
        quality = (index % 6) / 5
        for period in PERIODS:
            drift = rng.uniform(-0.3, 0.3)
            for _ in range(6):
                value = 1 + round(min(4, max(0, 4 * quality + drift + rng.gauss(0, 0.9))))
                events.append(event(EMPLOYEE, unit, period, value))
            for _ in range(7):
                value = round(min(10, max(0, 10 * quality + 3 * drift + rng.gauss(0, 2.5))))
                events.append(event(CUSTOMER, unit, period, value))
            for _ in range(5):
                value = 1 + round(min(4, max(0, 4 * quality + rng.gauss(0, 1.2))))
                events.append(event(INTERNAL, unit, period, value))
    return events


def nps(scores: list[int]) -> float:
    return 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)


async def test_nps_over_time_and_internal_service_outcome(settings: Settings) -> None:
    events = simulate(random.Random(5))
    raw: dict[tuple[str, str, str], list[int]] = defaultdict(list)  # (survey, unit, period)
    for e in events:
        raw[(e.survey_id, e.unit_id, e.period)].append(e.answers[0].score)
    async with inprocess_stack(settings, [DEFINITION]) as stack:
        assert stack.settings.nats_url is not None
        nc = await nats.connect(stack.settings.nats_url)
        js = nc.jetstream()
        try:
            org = [("R", ""), ("A", "R"), ("B", "R")]
            org += [(u, "A" if i < 6 else "B") for i, u in enumerate(UNITS)]

            await publish_org(js, org)
            await publish_surveys(js, (EMPLOYEE, CUSTOMER, INTERNAL))
            for e in events:
                await publish_event(js, subjects.RESPONSE_RECORDED, e, msg_id=e.response_id)
            async with tools_channel(stack.address("correlation")) as channel:
                stub = pb_grpc.CorrelationServiceStub(channel)

                async def counted() -> bool:
                    stats = await stub.GetIngestionStats(pb.GetIngestionStatsRequest())
                    return stats.responses_counted == len(events)

                await eventually(counted, limit_s=60)
                stats = await stub.GetIngestionStats(pb.GetIngestionStatsRequest())
                assert stats.internal_service_responses == len(UNITS) * len(PERIODS) * 5

                def fairness(unit: str, period: str | None = None) -> float:
                    periods = [period] if period else PERIODS
                    values = [v for p in periods for v in raw[("emp", unit, p)]]
                    return float(np.mean([(v - 1) / 4 * 100 for v in values]))

                # --- NPS outcome: unit points and the per-period panel are NPS values.
                report = (
                    await stub.RunLinkageReport(
                        pb.RunLinkageReportRequest(
                            predictors=["treatment.fairness"],
                            outcome="nps",
                            max_lag=1,
                            options=pb.LinkageOptions(
                                bootstrap_resamples=0, permutation_resamples=0
                            ),
                        ),
                        metadata=as_viewer("ceo"),
                    )
                ).report
                link = report.linkages[0]
                assert [p.unit_id for p in link.points] == UNITS
                unit_nps = [nps([v for p in PERIODS for v in raw[("cust", u, p)]]) for u in UNITS]
                assert [p.outcome for p in link.points] == pytest.approx(unit_nps)
                panel = [(u, p) for u in UNITS for p in PERIODS]
                subject = [u for u, _ in panel]
                index = [int(p[-2:]) for _, p in panel]
                px = [fairness(u, p) for u, p in panel]
                py = [nps(raw[("cust", u, p)]) for u, p in panel]
                # Within-unit lags with units as clusters (issue 21); lag 0 is rmcorr's r.
                within = pulse_stats.within_unit_lags(subject, index, px, py, max_lag=1)
                assert [lag.lag for lag in link.lags] == [-1, 0, 1]
                for got, want in zip(link.lags, within, strict=True):
                    assert_same_estimate(got.estimate, want)
                rm = pulse_stats.repeated_measures_correlation(subject, px, py)
                assert link.repeated_measures.r == pytest.approx(rm.r, abs=1e-9)
                lead = pulse_stats.lead_lag_test(subject, index, px, py, max_lag=1)
                assert link.direction.difference == pytest.approx(lead.difference, abs=1e-9)
                caveats = " ".join(report.verdict.caveats)
                assert "not computed for NPS" not in caveats
                assert "repeated-measures correlation not computed" not in caveats
                metrics = {m.metric: m for m in report.customer_metrics}
                all_nps = [v for u in UNITS for p in PERIODS for v in raw[("cust", u, p)]]
                assert metrics["nps"].value == pytest.approx(nps(all_nps))

                # --- Internal-service outcome: its own population, never mixed with customers.
                internal = (
                    await stub.RunLinkageReport(
                        pb.RunLinkageReportRequest(
                            predictors=["treatment.fairness"],
                            outcome="internal.csat",
                            options=pb.LinkageOptions(
                                bootstrap_resamples=0, permutation_resamples=0
                            ),
                        ),
                        metadata=as_viewer("ceo"),
                    )
                ).report
                assert internal.outcome == "internal.csat"
                link = internal.linkages[0]
                assert [p.unit_id for p in link.points] == UNITS
                ratings = {u: [v for p in PERIODS for v in raw[("internal", u, p)]] for u in UNITS}
                y = [float(np.mean([(v - 1) / 4 * 100 for v in ratings[u]])) for u in UNITS]
                x = [fairness(u) for u in UNITS]
                assert [p.outcome for p in link.points] == pytest.approx(y)
                assert [p.n_customers for p in link.points] == [15] * len(UNITS)
                assert_same_estimate(
                    link.pearson,
                    pulse_stats.correlation(x, y, method="pearson", confidence_level=0.95),
                )
                diag = {d.construct: d for d in internal.diagnostics}
                # ICC(1) within each period, averaged (internal raters answer every period).
                per_period = [
                    pulse_stats.icc(
                        [u for u in UNITS for _ in raw[("internal", u, p)]],
                        [(v - 1) / 4 * 100 for u in UNITS for v in raw[("internal", u, p)]],
                    ).icc1
                    for p in PERIODS
                ]
                assert diag["internal.csat"].icc1 == pytest.approx(np.mean(per_period), abs=1e-9)
                assert diag["internal.csat"].periods == len(PERIODS)
                metrics = {m.metric: m for m in internal.customer_metrics}
                assert metrics["internal.csat"].value == pytest.approx(float(np.mean(y)))
                assert "nps" not in metrics  # no internal NPS item; customer NPS not mixed in
        finally:
            await nc.close()
