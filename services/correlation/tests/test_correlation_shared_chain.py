"""Issue 15/16 leftovers through the real service (PostgreSQL, NATS, gRPC): reports within a
scope are shared (leader A runs, leader B whose scope holds A's reads, leader C of another
subtree is refused) for linkage and stored chain reports; a linkage report accepts an
internal-service predictor counted under the rated unit; alpha of a three-item construct in
the linkage report's diagnostics; "moved most" covers every team of the subtree."""

from __future__ import annotations

import csv
import io
import json
import random
import uuid
from collections import defaultdict
from collections.abc import Awaitable

import grpc
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
from pulse_testing.correlation import eventually, publish_org, publish_surveys
from pulse_testing.security import as_viewer, tools_channel
from pulse_testing.stack import inprocess_stack

L5 = types_pb2.SCALE_LIKERT_5
NORTH = [f"N{i}" for i in range(1, 7)]
SOUTH = [f"S{i}" for i in range(1, 7)]
PERIODS = ["2026-01", "2026-02"]
PER_CELL = 6
MOVER = "N3"  # a team two levels below the organisation's page, planted to move up

EMPLOYEE = types_pb2.SurveyDefinition(
    survey_id="emp",
    version=1,
    kind=types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
    items=[
        types_pb2.Item(item_id=f"s{i}", construct="treatment.support", scale=L5) for i in (1, 2, 3)
    ],
    min_group_size=5,
)
CUSTOMER = types_pb2.SurveyDefinition(
    survey_id="cust",
    version=1,
    kind=types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION,
    items=[types_pb2.Item(item_id="c1", construct="csat", scale=types_pb2.SCALE_CSAT_1_5)],
    min_group_size=5,
)


def internal_survey(rated: str) -> types_pb2.SurveyDefinition:
    return types_pb2.SurveyDefinition(
        survey_id=f"int-{rated}",
        version=1,
        kind=types_pb2.SURVEY_KIND_INTERNAL_SERVICE,
        items=[types_pb2.Item(item_id="i1", construct="csat", scale=types_pb2.SCALE_CSAT_1_5)],
        min_group_size=5,
        rated_unit_id=rated,
    )


def to_100(score: int) -> float:
    return (score - 1) / 4 * 100


def answer(rng: random.Random, latent: float) -> int:
    return int(min(5, max(1, round(3 + latent + rng.gauss(0, 0.5)))))


class World:
    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        self.events: list[events_pb2.ResponseRecorded] = []
        self.support_items: list[list[float]] = []
        self.internal: dict[str, list[float]] = defaultdict(list)  # rated unit -> 0-100
        quality = {u: rng.uniform(-1.2, 1.2) for u in SOUTH}
        for period in PERIODS:
            for team in NORTH + SOUTH:
                support = rng.uniform(-0.3, 0.3)
                if team == MOVER:
                    support = -1.5 if period == PERIODS[0] else 1.5
                for _ in range(PER_CELL):
                    scores = [answer(rng, support) for _ in range(3)]
                    self.support_items.append([to_100(s) for s in scores])
                    self._event(
                        EMPLOYEE, team, period, {f"s{i}": s for i, s in enumerate(scores, 1)}
                    )
                    self._event(CUSTOMER, team, period, {"c1": answer(rng, quality.get(team, 0.0))})
            for rated in SOUTH:  # rated by the north teams; counted under the rated unit
                for _ in range(PER_CELL):
                    score = answer(rng, quality[rated])
                    self.internal[rated].append(to_100(score))
                    self._event(internal_survey(rated), rng.choice(NORTH), period, {"i1": score})

    def _event(
        self, survey: types_pb2.SurveyDefinition, unit: str, period: str, scores: dict[str, int]
    ) -> None:
        self.events.append(
            events_pb2.ResponseRecorded(
                response_id=str(uuid.uuid4()),
                survey_id=survey.survey_id,
                survey_version=1,
                kind=survey.kind,
                unit_id=unit,
                period=period,
                answers=[types_pb2.Answer(item_id=i, score=v) for i, v in scores.items()],
            )
        )


async def _refused(call: Awaitable[object]) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value.code()


async def test_shared_reports_internal_predictor_alpha_and_movers(settings: Settings) -> None:
    world = World(seed=5)
    leader_a, leader_b, leader_c = (
        as_viewer("lead-north", "N"),
        as_viewer("lead-all", "R"),
        as_viewer("lead-south", "S"),
    )
    no_resamples = pb.LinkageOptions(bootstrap_resamples=0, permutation_resamples=0)
    async with inprocess_stack(settings, [DEFINITION]) as stack:
        assert stack.settings.nats_url is not None
        nc = await nats.connect(stack.settings.nats_url)
        js = nc.jetstream()
        try:
            org = [("R", ""), ("N", "R"), ("S", "R")]
            org += [(u, "N") for u in NORTH] + [(u, "S") for u in SOUTH]
            await publish_org(js, org)
            for server, served in zip(SOUTH, NORTH, strict=True):
                link = events_pb2.ServesChanged(
                    serving_unit_id=server, served_unit_id=served, valid_from="2025-01-01"
                )
                await publish_event(js, subjects.ORG_SERVES, link, msg_id=f"serves:{server}")
            await publish_surveys(js, (EMPLOYEE, CUSTOMER, *map(internal_survey, SOUTH)))
            for e in world.events:
                await publish_event(js, subjects.RESPONSE_RECORDED, e, msg_id=e.response_id)
            async with tools_channel(stack.address("correlation")) as channel:
                stub = pb_grpc.CorrelationServiceStub(channel)

                async def counted() -> bool:
                    stats = await stub.GetIngestionStats(pb.GetIngestionStatsRequest())
                    return stats.responses_counted == len(world.events)

                await eventually(counted, limit_s=90)

                # Leader A runs a linkage report on North; alpha of the three support items.
                run = await stub.RunLinkageReport(
                    pb.RunLinkageReportRequest(
                        predictors=["treatment.support"], outcome="csat", options=no_resamples
                    ),
                    metadata=leader_a,
                )
                report = run.report
                assert report.scope_unit_id == "N"
                (support,) = [d for d in report.diagnostics if d.construct == "treatment.support"]
                north_items = world.support_items  # every cell >= k; only North's released
                north_rows = [
                    row
                    for row, e in zip(
                        north_items,
                        [e for e in world.events if e.survey_id == "emp"],
                        strict=True,
                    )
                    if e.unit_id in NORTH
                ]
                want = pulse_stats.cronbach_alpha(north_rows)
                assert (support.alpha.items, support.alpha.n) == (3, len(north_rows))
                assert support.alpha.alpha == pytest.approx(want.alpha, abs=1e-9)
                assert support.alpha.ci_high == pytest.approx(want.ci_high, abs=1e-9)
                assert len(support.alpha.item_totals) == 3

                # Shared: B (scope R holds N) reads, lists and exports it; C (S) cannot.
                got = await stub.GetReport(
                    pb.GetReportRequest(report_id=report.report_id), metadata=leader_b
                )
                assert got.report == report
                listed = await stub.ListReports(pb.ListReportsRequest(), metadata=leader_b)
                assert [r.report_id for r in listed.reports] == [report.report_id]
                exported = await stub.ExportReport(
                    pb.ExportReportRequest(report_id=report.report_id, format=pb.EXPORT_FORMAT_CSV),
                    metadata=leader_b,
                )
                assert "# reliability" in exported.content.decode()
                code = await _refused(
                    stub.GetReport(
                        pb.GetReportRequest(report_id=report.report_id), metadata=leader_c
                    )
                )
                assert code == grpc.StatusCode.NOT_FOUND
                assert not (
                    await stub.ListReports(pb.ListReportsRequest(), metadata=leader_c)
                ).reports

                # Chain reports are stored and shared by the same rule.
                chain = (
                    await stub.RunChainReport(
                        pb.RunChainReportRequest(
                            scope_unit_id="N",
                            mediator="treatment.support",
                            max_lag=0,
                            options=pb.LinkageOptions(bootstrap_resamples=200, random_seed=3),
                        ),
                        metadata=leader_a,
                    )
                ).report
                assert chain.units_reported == len(NORTH)
                stored = await stub.GetChainReport(
                    pb.GetChainReportRequest(report_id=chain.report_id), metadata=leader_b
                )
                assert stored.report == chain
                chains = await stub.ListChainReports(
                    pb.ListChainReportsRequest(), metadata=leader_b
                )
                assert [r.report_id for r in chains.reports] == [chain.report_id]
                assert chains.reports[0].verdict_level == chain.verdict.level
                as_csv = await stub.ExportReport(
                    pb.ExportReportRequest(report_id=chain.report_id, format=pb.EXPORT_FORMAT_CSV),
                    metadata=leader_b,
                )
                rows = list(csv.reader(io.StringIO(as_csv.content.decode())))
                sections = {r[0] for r in rows if r and r[0].startswith("# ")}
                assert {"# links", "# indirect", "# reliability", "# verdict"} <= sections
                assert as_csv.filename == f"chain-report-{chain.report_id}.csv"
                as_json = await stub.ExportReport(
                    pb.ExportReportRequest(report_id=chain.report_id, format=pb.EXPORT_FORMAT_JSON),
                    metadata=leader_a,
                )
                assert json.loads(as_json.content)["report_id"] == chain.report_id
                for call in (
                    stub.GetChainReport(
                        pb.GetChainReportRequest(report_id=chain.report_id), metadata=leader_c
                    ),
                    stub.ExportReport(
                        pb.ExportReportRequest(
                            report_id=chain.report_id, format=pb.EXPORT_FORMAT_JSON
                        ),
                        metadata=leader_c,
                    ),
                ):
                    assert await _refused(call) == grpc.StatusCode.NOT_FOUND
                south_chains = await stub.ListChainReports(
                    pb.ListChainReportsRequest(), metadata=leader_c
                )
                assert not south_chains.reports
                assert (
                    await _refused(stub.GetChainReport(pb.GetChainReportRequest(report_id="x")))
                    == grpc.StatusCode.INVALID_ARGUMENT
                )

                # An internal-service predictor: ratings count under the rated (serving) unit.
                internal = (
                    await stub.RunLinkageReport(
                        pb.RunLinkageReportRequest(
                            scope_unit_id="S",
                            predictors=["internal.csat"],
                            outcome="csat",
                            options=no_resamples,
                        ),
                        metadata=leader_b,
                    )
                ).report
                (internal_link,) = internal.linkages
                assert [p.unit_id for p in internal_link.points] == SOUTH
                assert [p.predictor for p in internal_link.points] == pytest.approx(
                    [float(np.mean(world.internal[u])) for u in SOUTH]
                )
                raters = [p.n_employees for p in internal_link.points]
                assert raters == [len(PERIODS) * PER_CELL] * len(SOUTH)
                for bad in (
                    pb.RunLinkageReportRequest(outcome="csat", predictors=["nps"]),
                    pb.RunLinkageReportRequest(
                        outcome="internal.csat", predictors=["internal.csat"]
                    ),
                ):
                    with pytest.raises(grpc.aio.AioRpcError) as caught:
                        await stub.RunLinkageReport(bad, metadata=leader_b)
                    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                    assert "predictors[0]" in (caught.value.details() or "")

                # "Moved most" on the organisation's page covers teams two levels down,
                # while the page's cells stay one level deep.
                page = await stub.GetDashboard(
                    pb.GetDashboardRequest(unit_id="R"), metadata=leader_b
                )
                assert {c.unit_id for c in page.cells} == {"R", "N", "S"}
                moved = [(m.unit.unit_id, m.construct) for m in page.movers if m.change > 0]
                assert (MOVER, "treatment.support") in moved
                top = next(m for m in page.movers if m.unit.unit_id == MOVER)
                assert top.period == PERIODS[1]
                assert top.previous_period == PERIODS[0]
                assert top.change == pytest.approx(top.value - top.previous_value)
                assert abs(top.change) > top.noise > 0
                assert all(m.unit.unit_id in NORTH + SOUTH for m in page.movers)
        finally:
            await nc.close()
