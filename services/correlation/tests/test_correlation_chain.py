"""The internal-customer chain through the real service: back-office units B1..B4 each serve
front-line teams (each team served by two of them, dated "serves" links from the stream);
internal ratings name the rated unit and count under it; a planted chain (B's service ->
the team's treatment.support -> its customers' csat) is recovered — each link and the
indirect path within their intervals, equal to pulse_stats on the same unit means — while a
construct with no planted link (treatment.fairness) is reported as a null chain."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict
from itertools import combinations

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
from pulse_correlation.chain import UnitMeans, paths
from pulse_correlation.chain_model import ServesLink, servers_by_period
from pulse_testing.correlation import eventually, publish_org, publish_surveys
from pulse_testing.security import as_viewer, tools_channel
from pulse_testing.stack import inprocess_stack

SERVERS = ["B1", "B2", "B3", "B4"]
QUALITY = {"B1": -0.9, "B2": -0.3, "B3": 0.3, "B4": 0.9}
PAIRS = list(combinations(SERVERS, 2))  # 6 pairs, 4 teams each
TEAMS = [f"F{i:02d}" for i in range(1, 25)]
SERVED_BY = {team: PAIRS[i % len(PAIRS)] for i, team in enumerate(TEAMS)}
PERIODS = ["2026-01", "2026-02", "2026-03"]
PER_CELL = 8
A, B = 0.9, 0.8  # planted slopes on the latent scale

EMPLOYEE = types_pb2.SurveyDefinition(
    survey_id="emp",
    version=1,
    kind=types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
    items=[
        types_pb2.Item(item_id="s1", construct="treatment.support", scale=types_pb2.SCALE_LIKERT_5),
        types_pb2.Item(item_id="s2", construct="treatment.support", scale=types_pb2.SCALE_LIKERT_5),
        types_pb2.Item(
            item_id="f1", construct="treatment.fairness", scale=types_pb2.SCALE_LIKERT_5
        ),
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


def internal_survey(server: str) -> types_pb2.SurveyDefinition:
    return types_pb2.SurveyDefinition(
        survey_id=f"int-{server}",
        version=1,
        kind=types_pb2.SURVEY_KIND_INTERNAL_SERVICE,
        items=[types_pb2.Item(item_id="i1", construct="csat", scale=types_pb2.SCALE_CSAT_1_5)],
        min_group_size=5,
        rated_unit_id=server,
    )


def to_100(score: int) -> float:
    return (score - 1) / 4 * 100


def answer(rng: random.Random, latent: float) -> int:
    return int(min(5, max(1, round(3 + latent + rng.gauss(0, 0.6)))))


class World:
    """Latent values, the raw answers per (measure, unit, period) and the events."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        self.raw: dict[tuple[str, str, str], list[float]] = defaultdict(list)  # 0-100
        self.items: list[list[float]] = []  # support items of each respondent, 0-100
        self.latent: dict[tuple[str, str], list[float]] = defaultdict(list)  # (measure, team)
        self.events: list[events_pb2.ResponseRecorded] = []
        team_support = {t: rng.gauss(0, 0.45) for t in TEAMS}
        team_csat = {t: rng.gauss(0, 0.45) for t in TEAMS}
        for period in PERIODS:
            service = {s: QUALITY[s] + rng.gauss(0, 0.2) for s in SERVERS}
            for server in SERVERS:
                raters = [t for t in TEAMS if server in SERVED_BY[t]]
                for _ in range(PER_CELL):
                    score = answer(rng, service[server])
                    self.raw[("service", server, period)].append(to_100(score))
                    self._event(internal_survey(server), rng.choice(raters), period, {"i1": score})
            for team in TEAMS:
                x = float(np.mean([service[s] for s in SERVED_BY[team]]))
                m = A * x + team_support[team]
                y = B * m + team_csat[team]
                fairness = rng.gauss(0, 0.5)  # no link planted
                for name, value in (("service", x), ("support", m), ("csat", y)):
                    self.latent[(name, team)].append(value)
                for _ in range(PER_CELL):
                    s1, s2, f = answer(rng, m), answer(rng, m), answer(rng, fairness)
                    self.items.append([to_100(s1), to_100(s2)])
                    self.raw[("support", team, period)].append((to_100(s1) + to_100(s2)) / 2)
                    self.raw[("fairness", team, period)].append(to_100(f))
                    self._event(EMPLOYEE, team, period, {"s1": s1, "s2": s2, "f1": f})
                    c = answer(rng, y)
                    self.raw[("csat", team, period)].append(to_100(c))
                    self._event(CUSTOMER, team, period, {"c1": c})

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

    def score(self, measure: str, unit: str, period: str) -> float:
        return float(np.mean(self.raw[(measure, unit, period)]))

    def unit_means(self, mediator: str) -> UnitMeans:
        """What the service should compute: per team, the mean over periods of its servers'
        pooled service score (equal n), its mediator and its csat."""

        def service(team: str, period: str) -> float:
            values = [v for s in SERVED_BY[team] for v in self.raw[("service", s, period)]]
            return float(np.mean(values))

        def mean(f: object) -> np.ndarray:
            return np.array([np.mean([f(t, p) for p in PERIODS]) for t in TEAMS])  # type: ignore[operator]

        return UnitMeans(
            mean(service),
            mean(lambda t, p: self.score(mediator, t, p)),
            mean(lambda t, p: self.score("csat", t, p)),
        )

    def latent_means(self) -> UnitMeans:
        def mean(name: str) -> np.ndarray:
            return np.array([np.mean(self.latent[(name, t)]) for t in TEAMS])

        return UnitMeans(mean("service"), mean("support"), mean("csat"))


async def chain(stub: pb_grpc.CorrelationServiceAsyncStub, mediator: str) -> pb.ChainReport:
    response = await stub.RunChainReport(
        pb.RunChainReportRequest(
            mediator=mediator,
            options=pb.LinkageOptions(bootstrap_resamples=2000, random_seed=7),
        )
    )
    return response.report


async def test_planted_chain_is_recovered_and_a_null_chain_is_reported(settings: Settings) -> None:
    world = World(seed=9)
    async with inprocess_stack(settings, [DEFINITION]) as stack:
        assert stack.settings.nats_url is not None
        nc = await nats.connect(stack.settings.nats_url)
        js = nc.jetstream()
        try:
            org = [("R", ""), ("BO", "R"), ("FL", "R")]
            org += [(s, "BO") for s in SERVERS] + [(t, "FL") for t in TEAMS]
            await publish_org(js, org)
            for team, servers in SERVED_BY.items():
                for server in servers:
                    link = events_pb2.ServesChanged(
                        serving_unit_id=server, served_unit_id=team, valid_from="2025-01-01"
                    )
                    await publish_event(
                        js, subjects.ORG_SERVES, link, msg_id=f"serves:{server}:{team}"
                    )
            await publish_surveys(js, (EMPLOYEE, CUSTOMER, *map(internal_survey, SERVERS)))
            for e in world.events:
                await publish_event(js, subjects.RESPONSE_RECORDED, e, msg_id=e.response_id)
            async with tools_channel(stack.address("correlation")) as channel:
                stub = pb_grpc.CorrelationServiceStub(channel)

                async def counted() -> bool:
                    stats = await stub.GetIngestionStats(pb.GetIngestionStatsRequest())
                    return stats.responses_counted == len(world.events)

                await eventually(counted, limit_s=90)

                async def all_linked() -> bool:
                    return (await chain(stub, "treatment.support")).units_reported == len(TEAMS)

                await eventually(all_linked, limit_s=30)

                # Internal ratings count under the rated unit, never under the raters.
                scores = await stub.GetScores(pb.GetScoresRequest(constructs=["internal.csat"]))
                rated = {c.unit_id for c in scores.cells if c.n > 0 and not c.suppressed}
                assert set(SERVERS) <= rated
                assert not rated & set(TEAMS)

                report = await chain(stub, "treatment.support")
                assert report.units_reported == len(TEAMS)
                assert report.serving_units == len(SERVERS)
                assert report.unit_periods == len(TEAMS) * len(PERIODS)
                links = {link.path: link for link in report.links}
                means = world.unit_means("support")
                # The service computes exactly what pulse_stats gives on the same unit means.
                expected = {
                    "service->mediator": pulse_stats.correlation(means.service, means.mediator),
                    "mediator->outcome": pulse_stats.partial_correlation(
                        means.mediator, means.outcome, means.service
                    ),
                    "service->outcome": pulse_stats.correlation(means.service, means.outcome),
                    "service->outcome|mediator": pulse_stats.partial_correlation(
                        means.service, means.outcome, means.mediator
                    ),
                }
                for path, want in expected.items():
                    got = links[path].estimate
                    assert got.r == pytest.approx(want.r, abs=1e-9), path
                    assert got.ci_low == pytest.approx(want.ci_low, abs=1e-9), path
                    assert got.n == len(TEAMS)
                # Each planted link and the indirect path lie within their intervals.
                a, b, c, _ = paths(world.latent_means())
                truth = {"service->mediator": a, "service->outcome": c}
                for path, value in truth.items():
                    est = links[path].estimate
                    assert est.ci_low <= value <= est.ci_high, (path, value, est)
                assert links["service->mediator"].estimate.ci_low > 0
                assert links["mediator->outcome"].estimate.ci_low > 0
                assert links["service->mediator"].beta == pytest.approx(paths(means)[0], abs=1e-9)
                ind = report.indirect
                assert ind.r == pytest.approx(paths(means)[0] * paths(means)[1], abs=1e-9)
                assert ind.ci_low <= a * b <= ind.ci_high, (a * b, ind)
                assert ind.ci_low > 0
                assert report.verdict.level == "supported"
                # Alpha of the one multi-item measure, equal to pulse_stats on the items.
                (alpha,) = report.reliability
                want_alpha = pulse_stats.cronbach_alpha(world.items)
                assert alpha.construct == "treatment.support"
                assert alpha.alpha == pytest.approx(want_alpha.alpha, abs=1e-9)
                assert alpha.ci_low == pytest.approx(want_alpha.ci_low, abs=1e-9)
                assert (alpha.items, alpha.n) == (2, len(world.items))
                pair = np.array(world.items)
                r_items = float(np.corrcoef(pair[:, 0], pair[:, 1])[0, 1])  # two items: r.drop
                assert [t.item_id for t in alpha.item_totals] == ["s1", "s2"]
                for total in alpha.item_totals:
                    assert total.r == pytest.approx(r_items, abs=1e-9)
                assert any("under 0.7" in w for w in alpha.warnings)
                assert "not proof" in report.verdict.text
                lag_values = [lag.lag for lag in links["service->mediator"].lags]
                assert lag_values == [-1, 0, 1]

                # A construct with no planted link: the chain is reported as null.
                null = await chain(stub, "treatment.fairness")
                assert null.units_reported == len(TEAMS)
                assert null.indirect.ci_low <= 0 <= null.indirect.ci_high
                assert null.verdict.level == "no_evidence"
                assert "includes no effect" in null.verdict.text
        finally:
            await nc.close()


async def test_chain_request_fields_are_checked(settings: Settings) -> None:
    async with (
        inprocess_stack(settings, [DEFINITION]) as stack,
        tools_channel(stack.address("correlation")) as channel,
    ):
        stub = pb_grpc.CorrelationServiceStub(channel)
        bad = [
            (pb.RunChainReportRequest(mediator="csat"), "mediator"),
            (pb.RunChainReportRequest(outcome="treatment.support"), "outcome"),
            (pb.RunChainReportRequest(service_measure="csat"), "service_measure"),
            (pb.RunChainReportRequest(max_lag=9), "max_lag"),
            (pb.RunChainReportRequest(period_from="2026-13"), "period_from"),
        ]
        for request, field in bad:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.RunChainReport(request)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, field
            assert field in (caught.value.details() or ""), field
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await stub.RunChainReport(
                pb.RunChainReportRequest(scope_unit_id="south"),
                metadata=as_viewer("north-lead", scope="north"),
            )
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        empty = (await stub.RunChainReport(pb.RunChainReportRequest())).report
        assert empty.units_reported == 0
        assert empty.verdict.level == "not_enough_data"


def test_serves_links_hold_on_the_last_day_of_each_period() -> None:
    links = [
        ServesLink("B1", "F1", dt.date(2026, 1, 15), dt.date(2026, 3, 1)),
        ServesLink("B2", "F1", dt.date(2026, 2, 28), None),
    ]
    found = servers_by_period(links, ["2026-01", "2026-02", "2026-03"])
    assert found["2026-01"] == {"F1": {"B1"}}
    assert found["2026-02"] == {"F1": {"B1", "B2"}}
    assert found["2026-03"] == {"F1": {"B2"}}
