"""The correlation service end to end on real PostgreSQL and NATS: events in through JetStream,
numbers out through gRPC."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import math
import random
import uuid
from collections import defaultdict

import grpc
import nats
import numpy as np
import pulse_stats
import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse.correlation.v1 import correlation_service_pb2_grpc as pb_grpc
from pulse.events.v1 import events_pb2
from pulse.types.v1 import types_pb2
from pulse_common import subjects
from pulse_common.config import Settings
from pulse_common.messaging import publish_event
from pulse_common.runtime import start_service
from pulse_correlation.app import DEFINITION
from pulse_testing.correlation import assert_same_estimate, eventually, response_recorded
from pulse_testing.security import as_viewer, tools_channel
from pulse_testing.stack import inprocess_stack

EMP = types_pb2.SURVEY_KIND_EMPLOYEE_PULSE
CUST = types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION
L5 = types_pb2.SCALE_LIKERT_5


def item(
    item_id: str, construct: str, scale: types_pb2.Scale.ValueType, reverse: bool = False
) -> types_pb2.Item:
    return types_pb2.Item(item_id=item_id, construct=construct, scale=scale, reverse_scored=reverse)


EMPLOYEE_SURVEY = types_pb2.SurveyDefinition(
    survey_id="emp",
    version=1,
    kind=EMP,
    items=[
        item("fair_1", "treatment.fairness", L5),
        item("fair_2", "treatment.fairness", L5, reverse=True),
        item("sup_1", "treatment.support", L5),
        item("enps_1", "enps", types_pb2.SCALE_NPS_0_10),
        item("comment", "comment", types_pb2.SCALE_FREE_TEXT),
    ],
    min_group_size=5,
)
CUSTOMER_SURVEY = types_pb2.SurveyDefinition(
    survey_id="cust",
    version=1,
    kind=CUST,
    items=[
        item("csat_1", "csat", types_pb2.SCALE_CSAT_1_5),
        item("nps_1", "nps", types_pb2.SCALE_NPS_0_10),
    ],
    min_group_size=5,
)


def to100(value: float) -> float:
    return (value - 1) / 4 * 100


def response(
    survey: types_pb2.SurveyDefinition,
    unit: str,
    period: str,
    scores: dict[str, int],
    channel: str = "",
) -> events_pb2.ResponseRecorded:
    comment = [types_pb2.Answer(item_id="comment", text="free text")]
    return response_recorded(
        survey,
        unit,
        period,
        scores,
        channel=channel,
        source="live",
        extra=comment if survey is EMPLOYEE_SURVEY else (),
    )


async def jetstream(settings: Settings) -> tuple[NatsClient, JetStreamContext]:
    assert settings.nats_url is not None
    nc = await nats.connect(settings.nats_url)
    return nc, nc.jetstream()


async def publish_org(js: JetStreamContext, units: dict[str, str]) -> None:
    for version, (unit, parent) in enumerate(sorted(units.items()), start=1):
        event = events_pb2.OrgChanged(
            unit_id=unit,
            parent_id=parent,
            name=f"Unit {unit}",
            unit_type=(
                "UNIT_TYPE_FRONT_LINE"
                if unit.startswith("T") and int(unit[1:]) % 2
                else "UNIT_TYPE_BACK_OFFICE"
            ),
            valid_from="2025-01-01",
            change="created",
            org_version=version,
        )
        await publish_event(js, subjects.ORG_CHANGED, event, msg_id=f"org:{unit}:{version}")


async def publish_surveys(js: JetStreamContext) -> None:
    for survey in (EMPLOYEE_SURVEY, CUSTOMER_SURVEY):
        await publish_event(
            js,
            subjects.SURVEY_PUBLISHED,
            events_pb2.SurveyPublished(survey=survey),
            msg_id=f"survey:{survey.survey_id}:{survey.version}",
        )


async def test_exactly_once_under_redelivery_restart_and_two_instances(settings: Settings) -> None:
    async with inprocess_stack(settings, [DEFINITION]) as stack:
        second = await start_service(DEFINITION, stack.settings, "127.0.0.1:0")
        nc, js = await jetstream(stack.settings)
        try:
            # A response that arrives before its survey definition is retried, not dropped.
            early = response(CUSTOMER_SURVEY, "T1", "2026-01", {"csat_1": 5, "nps_1": 10}, "call")
            await publish_event(js, subjects.RESPONSE_RECORDED, early, msg_id=early.response_id)
            await asyncio.sleep(0.3)
            await publish_org(js, {"R": "", "A": "R", "T1": "A", "T2": "A"})
            await publish_surveys(js)
            sent: list[events_pb2.ResponseRecorded] = [early]
            rng = random.Random(1)
            for period in ("2026-01", "2026-02"):
                for unit, size in (("T1", 8), ("T2", 3)):
                    for _ in range(size):
                        sent.append(
                            response(
                                EMPLOYEE_SURVEY,
                                unit,
                                period,
                                {
                                    "fair_1": rng.randint(1, 5),
                                    "fair_2": rng.randint(1, 5),
                                    "sup_1": rng.randint(1, 5),
                                    "enps_1": rng.randint(0, 10),
                                },
                            )
                        )
            for i, event in enumerate(sent[1:], start=1):
                await publish_event(js, subjects.RESPONSE_RECORDED, event, msg_id=event.response_id)
                if i == len(sent) // 2:
                    await stack.restart("correlation", DEFINITION)  # restart mid-stream
            # Forced redeliveries: the same responses re-sent under new message ids.
            for event in sent[:10]:
                await publish_event(
                    js, subjects.RESPONSE_RECORDED, event, msg_id=f"resend-{uuid.uuid4()}"
                )
            async with tools_channel(stack.address("correlation")) as channel:
                stub = pb_grpc.CorrelationServiceStub(channel)

                async def all_counted() -> bool:
                    stats = await stub.GetIngestionStats(pb.GetIngestionStatsRequest())
                    return stats.responses_counted >= len(sent) and stats.messages_processed >= (
                        len(sent) + 2 + 4
                    )

                await eventually(all_counted)
                await asyncio.sleep(1.0)  # let any redelivery land: counts must not move
                stats = await stub.GetIngestionStats(pb.GetIngestionStatsRequest())
                assert stats.responses_counted == len(sent)
                assert stats.employee_responses == len(sent) - 1
                assert stats.customer_responses == 1
                assert stats.surveys_known == 2
                assert stats.units_known == 4
                pool = stack.services["correlation"].context.pool
                assert await pool.fetchval("SELECT sum(n) FROM correlation.agg_population") == len(
                    sent
                )
                fairness = [
                    (to100(e.answers[0].score) + to100(6 - e.answers[1].score)) / 2
                    for e in sent[1:]
                ]
                row = await pool.fetchrow(
                    "SELECT sum(n) AS n, sum(sum) AS s, sum(sumsq) AS q FROM"
                    " correlation.agg_construct WHERE construct = 'treatment.fairness'"
                )
                assert row is not None
                assert row["n"] == len(fairness)
                assert row["s"] == pytest.approx(sum(fairness))
                assert row["q"] == pytest.approx(sum(v * v for v in fairness))
                # Nothing per respondent is kept: r_wg(j) comes from the item aggregates.
                assert (
                    await pool.fetchval("SELECT to_regclass('correlation.respondent_items')")
                    is None
                )
                # Each measure remembers the k its surveys promised.
                ks = await pool.fetch("SELECT measure, k FROM correlation.measure_min_k")
                assert {r["measure"]: r["k"] for r in ks} == {
                    "customer:csat": 5,
                    "customer:nps": 5,
                    "employee:enps": 5,
                    "employee:treatment.fairness": 5,
                    "employee:treatment.support": 5,
                }

                # Scores: T2 (3 people a period) rolls up into A; T1 alone would let A - T1
                # isolate T2's 3 people, so T1 is suppressed as complementary.
                reply = await stub.GetScores(
                    pb.GetScoresRequest(
                        period_from="2026-01",
                        period_to="2026-01",
                        constructs=["treatment.fairness"],
                    ),
                    metadata=as_viewer("lead"),
                )
                cells = {c.unit_id: c for c in reply.cells}
                assert cells["T2"].suppressed
                assert cells["T2"].suppression_reason == ("rolled_up_into:A")
                assert cells["T2"].n == 0
                assert cells["T2"].value == 0
                assert cells["T1"].suppressed
                assert cells["T1"].suppression_reason == "complementary"
                january = [
                    f for e, f in zip(sent[1:], fairness, strict=True) if e.period == "2026-01"
                ]
                assert cells["A"].n == 11
                assert not cells["A"].suppressed
                assert cells["A"].rolled_up
                assert cells["A"].value == pytest.approx(float(np.mean(january)))
                assert cells["A"].ci_low < cells["A"].value < cells["A"].ci_high
                assert reply.min_group_size == 5
                # A viewer scoped to T1 gets the same answer as everyone (issue 13: with
                # T1 = 8 shown to the child's leader and A = 11 to the parent's, T2's 3 people
                # would be A - T1): T1 is hidden for everyone, whoever asks first.
                t1 = await stub.GetScores(
                    pb.GetScoresRequest(
                        period_from="2026-01",
                        period_to="2026-01",
                        constructs=["treatment.fairness"],
                    ),
                    metadata=as_viewer("t1-lead", "T1"),
                )
                assert [(c.unit_id, c.n, c.suppressed, c.suppression_reason) for c in t1.cells] == [
                    ("T1", 0, True, "complementary")
                ]
                # (Its scope is T1, so asking for A is refused outright.)
                with pytest.raises(grpc.aio.AioRpcError) as denied:
                    await stub.GetScores(
                        pb.GetScoresRequest(scope_unit_id="A"), metadata=as_viewer("t1-lead", "T1")
                    )
                assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
                # Trends for A over both periods: the same numbers whatever the viewer asked
                # before (no per-viewer history).
                await stub.GetScores(
                    pb.GetScoresRequest(
                        scope_unit_id="T1",
                        period_from="2026-01",
                        period_to="2026-01",
                        constructs=["treatment.fairness"],
                    ),
                    metadata=as_viewer("analyst"),
                )
                trend = await stub.GetTrends(
                    pb.GetTrendsRequest(
                        unit_id="A",
                        construct="treatment.fairness",
                        period_from="2026-01",
                        period_to="2026-02",
                    ),
                    metadata=as_viewer("analyst"),
                )
                by_period = {p.period: p for p in trend.points}
                assert not by_period["2026-01"].suppressed
                assert by_period["2026-01"].n == 11
                assert by_period["2026-01"].value == cells["A"].value
                assert not by_period["2026-02"].suppressed
                assert by_period["2026-02"].n == 11
                # eNPS cells are NPS on -100..100.
                enps = await stub.GetScores(
                    pb.GetScoresRequest(scope_unit_id="A", constructs=["enps"]),
                    metadata=as_viewer("lead2"),
                )
                for cell in enps.cells:
                    if not cell.suppressed:
                        assert -100 <= cell.value <= 100
                        assert cell.n >= 5
                    else:
                        assert cell.n == 0
                # Bad input names the field.
                with pytest.raises(grpc.aio.AioRpcError) as bad:
                    await stub.GetScores(
                        pb.GetScoresRequest(period_from="2026-13"), metadata=as_viewer("lead")
                    )
                assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert "period_from" in (bad.value.details() or "")
                # Periods follow PULSE_PERIOD (month here): an ISO week is refused.
                with pytest.raises(grpc.aio.AioRpcError) as week:
                    await stub.GetTrends(
                        pb.GetTrendsRequest(
                            unit_id="A",
                            construct="treatment.fairness",
                            period_to="2026-W05",
                        ),
                        metadata=as_viewer("lead"),
                    )
                assert week.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert "period_to: must be a month" in (week.value.details() or "")
                # The one unit-id rule: at most 64 of [A-Za-z0-9_.-].
                with pytest.raises(grpc.aio.AioRpcError) as long_id:
                    await stub.GetScores(
                        pb.GetScoresRequest(scope_unit_id="u" * 65), metadata=as_viewer("lead")
                    )
                assert long_id.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert "scope_unit_id" in (long_id.value.details() or "")
        finally:
            await nc.close()
            await second.stop(grace_s=0.2)


def simulate(
    rng: random.Random, units: list[str], periods: list[str]
) -> list[events_pb2.ResponseRecorded]:
    """Employees' fairness drives customers' csat at the unit level, with noise."""
    events = []
    for index, unit in enumerate(units):
        quality = (index % 6) / 5  # 0..1
        for period in periods:
            drift = rng.uniform(-0.3, 0.3)
            for _ in range(5 + index % 3):
                base = 1 + round(min(4, max(0, 4 * quality + drift + rng.gauss(0, 0.9))))
                events.append(
                    response(
                        EMPLOYEE_SURVEY,
                        unit,
                        period,
                        {
                            "fair_1": base,
                            "fair_2": 6 - max(1, min(5, base + rng.choice([-1, 0, 1]))),
                            "sup_1": rng.randint(1, 5),
                            "enps_1": rng.randint(0, 10),
                        },
                    )
                )
            for _ in range(6):
                csat = 1 + round(min(4, max(0, 4 * quality + drift + rng.gauss(0, 1.0))))
                events.append(
                    response(
                        CUSTOMER_SURVEY,
                        unit,
                        period,
                        {"csat_1": csat, "nps_1": rng.randint(0, 10)},
                        rng.choice(["call", "chat", "visit"]),
                    )
                )
    return events


def unit_table(
    events: list[events_pb2.ResponseRecorded],
) -> tuple[
    dict[str, list[float]],
    dict[str, list[float]],
    dict[tuple[str, str], list[float]],
    dict[tuple[str, str], list[float]],
]:
    """Per unit: respondents' fairness and csat construct scores (0-100); per (unit, period)
    the same. Computed from the raw answers, independently of the service."""
    fair: dict[str, list[float]] = defaultdict(list)
    csat: dict[str, list[float]] = defaultdict(list)
    fair_p: dict[tuple[str, str], list[float]] = defaultdict(list)
    csat_p: dict[tuple[str, str], list[float]] = defaultdict(list)
    for e in events:
        scores = {a.item_id: a.score for a in e.answers if a.WhichOneof("value") == "score"}
        if e.survey_id == "emp":
            value = (to100(scores["fair_1"]) + to100(6 - scores["fair_2"])) / 2
            fair[e.unit_id].append(value)
            fair_p[(e.unit_id, e.period)].append(value)
        else:
            value = to100(scores["csat_1"])
            csat[e.unit_id].append(value)
            csat_p[(e.unit_id, e.period)].append(value)
    return fair, csat, fair_p, csat_p


async def test_linkage_report_equals_pulse_stats_on_the_unit_table(settings: Settings) -> None:
    units = [f"T{i:02d}" for i in range(1, 13)]
    periods = ["2026-01", "2026-02", "2026-03"]
    org = {"R": "", "A": "R", "B": "R"}
    org.update({u: ("A" if i < 4 else "B") for i, u in enumerate(units)})
    events = simulate(random.Random(7), units, periods)
    async with inprocess_stack(settings, [DEFINITION]) as stack:
        nc, js = await jetstream(stack.settings)
        ready: list[events_pb2.ReportReady] = []

        async def on_ready(msg: Msg) -> None:
            event = events_pb2.ReportReady()
            event.ParseFromString(msg.data)
            ready.append(event)

        await js.subscribe(subjects.REPORT_READY, cb=on_ready)
        try:
            await publish_org(js, org)
            await publish_surveys(js)
            for event in events:
                await publish_event(js, subjects.RESPONSE_RECORDED, event, msg_id=event.response_id)
            async with tools_channel(stack.address("correlation")) as channel:
                stub = pb_grpc.CorrelationServiceStub(channel)

                async def all_counted() -> bool:
                    stats = await stub.GetIngestionStats(pb.GetIngestionStatsRequest())
                    return stats.responses_counted == len(events)

                await eventually(all_counted, limit_s=60)
                reply = await stub.RunLinkageReport(
                    pb.RunLinkageReportRequest(
                        period_from="2026-01",
                        period_to="2026-03",
                        predictors=["treatment.fairness"],
                        outcome="csat",
                        max_lag=1,
                        covariates=["unit_size", "unit_type", "channel_mix"],
                        options=pb.LinkageOptions(
                            bootstrap_resamples=300,
                            permutation_resamples=300,
                            confidence_level=0.95,
                            random_seed=11,
                        ),
                    ),
                    metadata=as_viewer("ceo"),
                )
                report = reply.report
                fair, csat, fair_p, csat_p = unit_table(events)
                x = [float(np.mean(fair[u])) for u in units]
                y = [float(np.mean(csat[u])) for u in units]
                assert report.units_reported == 12
                assert report.min_group_size == 5
                link = report.linkages[0]
                assert [p.unit_id for p in link.points] == units
                assert [p.predictor for p in link.points] == pytest.approx(x)
                assert [p.outcome for p in link.points] == pytest.approx(y)
                assert [p.n_employees for p in link.points] == [len(fair[u]) for u in units]

                assert_same_estimate(
                    link.pearson,
                    pulse_stats.correlation(x, y, method="pearson", confidence_level=0.95),
                )
                assert_same_estimate(
                    link.spearman,
                    pulse_stats.correlation(x, y, method="spearman", confidence_level=0.95),
                )
                assert_same_estimate(
                    link.bootstrap,
                    pulse_stats.bootstrap_correlation(
                        x,
                        y,
                        method="pearson",
                        n_resamples=300,
                        confidence_level=0.95,
                        random_state=11,
                    ),
                )
                assert_same_estimate(
                    link.permutation,
                    pulse_stats.permutation_correlation(
                        x,
                        y,
                        method="pearson",
                        n_resamples=300,
                        confidence_level=0.95,
                        random_state=11,
                    ),
                )
                panel = [(u, p) for u in units for p in periods]
                px = [float(np.mean(fair_p[c])) for c in panel]
                py = [float(np.mean(csat_p[c])) for c in panel]
                subject = [u for u, _ in panel]
                index = [int(p[-2:]) for _, p in panel]
                # Over time: within-unit correlations with units as clusters (issue 21;
                # they replaced pooled-cell lags and fixed-effects cross-lagged paths).
                within = pulse_stats.within_unit_lags(subject, index, px, py, max_lag=1)
                assert [lag.lag for lag in link.lags] == [-1, 0, 1]
                for got, want in zip(link.lags, within, strict=True):
                    assert_same_estimate(got.estimate, want)
                    assert got.units == want.n_units
                rm = pulse_stats.repeated_measures_correlation(subject, px, py)
                assert link.repeated_measures.r == pytest.approx(rm.r, abs=1e-9)
                assert_same_estimate(link.repeated_measures, within[1])
                lead = pulse_stats.lead_lag_test(subject, index, px, py, max_lag=1)
                assert link.direction.difference == pytest.approx(lead.difference, abs=1e-9)
                assert link.direction.p_value == pytest.approx(lead.p_value, abs=1e-9)
                # Diagnostics: ICC(1) within each period (each person answers once a
                # period), averaged; reliability of unit means by Spearman-Brown.
                per_period = [
                    pulse_stats.icc(
                        [u for u in units for _ in fair_p[(u, p)]],
                        [v for u in units for v in fair_p[(u, p)]],
                    )
                    for p in periods
                ]
                diag = {d.construct: d for d in report.diagnostics}
                icc1 = float(np.mean([i.icc1 for i in per_period]))
                k = float(np.mean([i.mean_group_size for i in per_period]))
                assert diag["treatment.fairness"].icc1 == pytest.approx(icc1, abs=1e-9)
                rel_x = k * icc1 / (1 + (k - 1) * icc1) if icc1 > 0 else math.nan
                assert diag["treatment.fairness"].icc2 == pytest.approx(rel_x, nan_ok=True)
                assert diag["treatment.fairness"].reliability == pytest.approx(rel_x, nan_ok=True)
                icc1_y = float(
                    np.mean(
                        [
                            pulse_stats.icc(
                                [u for u in units for _ in csat_p[(u, p)]],
                                [v for u in units for v in csat_p[(u, p)]],
                            ).icc1
                            for p in periods
                        ]
                    )
                )
                k_y = float(np.mean([len(csat[u]) for u in units]))  # customers: all answers
                rel_y = k_y * icc1_y / (1 + (k_y - 1) * icc1_y) if icc1_y > 0 else math.nan
                assert diag["csat"].reliability == pytest.approx(rel_y, nan_ok=True)
                assert link.disattenuated_r == pytest.approx(
                    pulse_stats.disattenuated(link.pearson.r, rel_x, rel_y)
                )
                factor = math.sqrt(rel_x * rel_y)
                assert link.disattenuation.ci_high == pytest.approx(link.pearson.ci_high / factor)
                d = link.disattenuation
                assert d.flagged == (abs(d.r) > 1 or d.ci_high > 1 or d.ci_low < -1)
                # rwg(j) from the item aggregates equals rwg_j on the raw (reverse-scored)
                # answers: unit = group, over all periods.
                raw_groups, raw_items = [], []
                for e in events:
                    if e.survey_id == "emp":
                        answer = {a.item_id: a.score for a in e.answers if a.item_id != "comment"}
                        raw_groups.append(e.unit_id)
                        raw_items.append([answer["fair_1"], 6 - answer["fair_2"]])
                rwg = pulse_stats.rwg_j(raw_groups, raw_items, n_options=5)
                assert diag["treatment.fairness"].rwg_j_mean == pytest.approx(rwg.mean, abs=1e-12)
                assert diag["treatment.fairness"].rwg_j_median == pytest.approx(
                    rwg.median, abs=1e-12
                )
                csat_rwg = pulse_stats.rwg_j(
                    [u for u in units for _ in csat[u]],
                    [v / 25 + 1 for u in units for v in csat[u]],
                    n_options=5,
                )
                assert diag["csat"].rwg_j_mean == pytest.approx(csat_rwg.mean, abs=1e-12)
                # Partial correlation controlling for unit size (log employee responses).
                size = [math.log(len(fair[u])) for u in units]
                partial = next(p for p in link.partials if list(p.covariates) == ["unit_size"])
                assert_same_estimate(partial.estimate, pulse_stats.partial_correlation(x, y, size))
                assert any(len(p.covariates) == 3 for p in link.partials)
                unit_type = [float(int(u[1:]) % 2) for u in units]
                partial = next(p for p in link.partials if list(p.covariates) == ["unit_type"])
                assert_same_estimate(
                    partial.estimate, pulse_stats.partial_correlation(x, y, unit_type)
                )
                # Power before, not after: for the smallest effect of interest (0.3).
                assert link.units_needed == pulse_stats.units_needed(0.3, alpha=0.05)
                assert report.power.units == 12
                assert report.power.power == pytest.approx(pulse_stats.correlation_power(0.3, 12))
                # Drivers: constructs and items with BH q-values.
                names = [d.name for d in report.drivers]
                assert names == [
                    "treatment.fairness",
                    "treatment.support",
                    "fair_1",
                    "fair_2",
                    "sup_1",
                ]
                qs = pulse_stats.fdr([d.estimate.p_value for d in report.drivers])
                assert [d.q_value for d in report.drivers] == pytest.approx(list(qs))
                # Customer metrics over the released units.
                metrics = {m.metric: m for m in report.customer_metrics}
                all_csat = [v for u in units for v in csat[u]]
                top2 = sum(1 for v in all_csat if v >= 75)
                wilson = pulse_stats.wilson_interval(top2, len(all_csat))
                assert metrics["top2box"].value == pytest.approx(wilson.p)
                assert metrics["top2box"].ci_low == pytest.approx(wilson.ci_low)
                assert metrics["csat"].value == pytest.approx(float(np.mean(all_csat)))
                assert -100 <= metrics["nps"].value <= 100
                assert report.verdict.level in ("supported", "weak", "no_evidence")
                assert "12 units" in report.verdict.text
                assert "not proof that treatment causes" in report.verdict.text
                assert report.code_version.startswith("pulse-correlation")
                # Cronbach's alpha of the two fairness items in the diagnostics (issue 16),
                # equal to pulse_stats on the respondents' items (every cell >= k here).
                fair_items = [
                    [to100(a["fair_1"]), to100(6 - a["fair_2"])]
                    for a in (
                        {x.item_id: x.score for x in e.answers if x.WhichOneof("value") == "score"}
                        for e in events
                        if e.survey_id == "emp"
                    )
                ]
                want_alpha = pulse_stats.cronbach_alpha(fair_items)
                diagnostics = {d.construct: d for d in report.diagnostics}
                alpha = diagnostics["treatment.fairness"].alpha
                assert (alpha.items, alpha.n) == (2, len(fair_items))
                assert alpha.alpha == pytest.approx(want_alpha.alpha, abs=1e-9)
                assert alpha.ci_low == pytest.approx(want_alpha.ci_low, abs=1e-9)
                assert alpha.ci_high == pytest.approx(want_alpha.ci_high, abs=1e-9)
                assert [t.item_id for t in alpha.item_totals] == ["fair_1", "fair_2"]
                assert not diagnostics["csat"].HasField("alpha")  # one item

                # Stored, listed, fetched, exported, announced.
                listed = await stub.ListReports(pb.ListReportsRequest(), metadata=as_viewer("ceo"))
                assert [r.report_id for r in listed.reports] == [report.report_id]
                fetched = await stub.GetReport(
                    pb.GetReportRequest(report_id=report.report_id), metadata=as_viewer("ceo")
                )
                assert fetched.report == report
                # A report on the whole organisation is not for a leader of one division.
                with pytest.raises(grpc.aio.AioRpcError) as other:
                    await stub.GetReport(
                        pb.GetReportRequest(report_id=report.report_id),
                        metadata=as_viewer("someone-else", "B"),
                    )
                assert other.value.code() == grpc.StatusCode.NOT_FOUND
                exported = await stub.ExportReport(
                    pb.ExportReportRequest(
                        report_id=report.report_id,
                        format=pb.EXPORT_FORMAT_JSON,
                    ),
                    metadata=as_viewer("ceo"),
                )
                assert json.loads(exported.content)["report_id"] == report.report_id
                as_csv = await stub.ExportReport(
                    pb.ExportReportRequest(
                        report_id=report.report_id,
                        format=pb.EXPORT_FORMAT_CSV,
                    ),
                    metadata=as_viewer("ceo"),
                )
                rows = list(csv.reader(io.StringIO(as_csv.content.decode())))
                sections = [r[0] for r in rows if r and r[0].startswith("# ")]
                for name in ("estimates", "lags", "drivers", "diagnostics", "unit_points"):
                    assert f"# {name}" in sections
                await eventually(lambda: _true(bool(ready)), limit_s=10)
                assert ready[0].report_id == report.report_id

                # Too few units: scope A holds 4 teams -> no verdict, says so.
                small = await stub.RunLinkageReport(
                    pb.RunLinkageReportRequest(
                        outcome="csat",
                        predictors=["treatment.fairness"],
                        options=pb.LinkageOptions(bootstrap_resamples=0, permutation_resamples=0),
                    ),
                    metadata=as_viewer("head-a", "A"),
                )
                assert small.report.units_reported == 4
                assert small.report.verdict.level == "not_enough_data"
                assert "Not enough data" in small.report.verdict.text
                assert small.report.scope_unit_id == "A"
                # Reports within a scope are shared (issue 15): head-a ran it, the CEO
                # (whose scope holds A) and another leader of A read it; head-b (B's
                # subtree) can neither read, export nor list it.
                small_id = small.report.report_id
                for reader in (as_viewer("ceo"), as_viewer("deputy-a", "A")):
                    shared = await stub.GetReport(
                        pb.GetReportRequest(report_id=small_id), metadata=reader
                    )
                    assert shared.report == small.report
                    listing = await stub.ListReports(pb.ListReportsRequest(), metadata=reader)
                    assert small_id in [r.report_id for r in listing.reports]
                deputy = await stub.ListReports(
                    pb.ListReportsRequest(), metadata=as_viewer("deputy-a", "A")
                )
                assert report.report_id not in [r.report_id for r in deputy.reports]
                head_b = as_viewer("head-b", "B")
                for call in (
                    stub.GetReport(pb.GetReportRequest(report_id=small_id), metadata=head_b),
                    stub.ExportReport(
                        pb.ExportReportRequest(report_id=small_id, format=pb.EXPORT_FORMAT_CSV),
                        metadata=head_b,
                    ),
                ):
                    with pytest.raises(grpc.aio.AioRpcError) as refused:
                        await call
                    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
                assert not (
                    await stub.ListReports(pb.ListReportsRequest(), metadata=head_b)
                ).reports
                # A viewer scoped to A cannot ask about B.
                with pytest.raises(grpc.aio.AioRpcError) as denied:
                    await stub.RunLinkageReport(
                        pb.RunLinkageReportRequest(scope_unit_id="B", outcome="csat"),
                        metadata=as_viewer("head-a", "A"),
                    )
                assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
                with pytest.raises(grpc.aio.AioRpcError) as bad:
                    await stub.RunLinkageReport(
                        pb.RunLinkageReportRequest(outcome="revenue"), metadata=as_viewer("ceo")
                    )
                assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert "outcome" in (bad.value.details() or "")
        finally:
            await nc.close()


async def _true(value: bool) -> bool:
    return value
