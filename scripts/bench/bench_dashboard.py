#!/usr/bin/env python3
"""Benchmark: how fast and how large is each dashboard page a leader opens? (not a test)

Data: the demo generator's medium organisation (``pulse_cli.demo.generator``, 158 units:
company, divisions, departments, teams; 12 months ending this month). Its units are created
through the survey service (the correlation service learns them from the stream, as in
production); its answers are summed into the correlation service's per-(unit, period)
aggregates directly (the sums ``ResponseRecorded`` ingestion would build; ingestion speed is
``bench_report_cost.py``'s subject). The reorganisation is left out: every answer counts for
the team the person started in.

Servers: embedded PostgreSQL and NATS in a temporary folder (or PULSE_DATABASE_URL /
PULSE_NATS_URL, see harness.py); survey, response and correlation services in-process; the
web app behind a real uvicorn server on 127.0.0.1; requests over HTTP by one signed-in
whole-organisation leader.

Pages: ``landing`` (/dashboard), ``division`` and ``department`` (one level down each),
``team`` (a front-line team), ``report`` (the default linkage report's page, run once).
Each page is fetched 2 times untimed, then ``repeats`` times; printed per page:
``dashboard <page>: p95_ms=<x> kb=<y>`` (p95 of the timed requests; size of the HTML
without the shared static files), and in brackets the first view's time (the range's sums
and the page's decisions not read before: what the first leader pays after new data).
Targets (issue 15): p95 < 1000 ms and < 300 KB; PASS or
INFO is printed per page, the exit code is 0 unless the run itself fails.

Usage: bench_dashboard.py [--quick] [--seed S]   (--quick: the small organisation)
"""

from __future__ import annotations

import math
import re
import secrets
import shutil
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import asyncpg
import httpx
from harness import bench_main, servers, wait_until
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse.correlation.v1 import correlation_service_pb2_grpc as corr_grpc
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.survey.v1 import survey_service_pb2_grpc as survey_grpc
from pulse_cli.demo.config import DemoConfig
from pulse_cli.demo.generator import Organisation, generate
from pulse_cli.demo.items import ItemSlot
from pulse_cli.enums import unit_type
from pulse_common.measures import CUSTOMER, EMPLOYEE, REPORT_DEFAULTS, is_nps
from pulse_common.periods import periods_back
from pulse_correlation.app import DEFINITION as CORRELATION
from pulse_response.app import DEFINITION as RESPONSE
from pulse_survey.app import DEFINITION as SURVEY
from pulse_testing.security import tools_channel
from pulse_testing.stack import InProcessStack, inprocess_stack, settings_for_tests
from pulse_testing.web import serve
from pulse_web.accounts import hash_password
from pulse_web.app import create_app
from pulse_web.clients import open_clients
from pulse_web.config import load_web_config

PASSWORD = "benchmark leader password"
TARGET_MS = 1000.0
TARGET_KB = 300.0


@dataclass(frozen=True)
class Config:
    size: str
    repeats: int


FULL = Config("medium", 20)
QUICK = Config("small", 8)


@dataclass
class Sums:
    n: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, value: float) -> None:
        self.n += 1
        self.total += value
        self.squares += value * value


def score(slot: ItemSlot, raw: int) -> tuple[int, float]:
    """(scored answer, 0-100 score) as the correlation service scores an item."""
    spec = slot.spec
    scored = spec.low + spec.high - raw if slot.reverse else raw
    return scored, (scored - spec.low) / (spec.high - spec.low) * 100.0


@dataclass
class ItemSums:
    """One agg_item row being summed."""

    construct: str
    population: str
    low: int
    high: int
    sums: Sums
    counts: list[int]
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    top2: int = 0

    def row_tail(self) -> Row:
        """The summed columns: n, sum, sumsq, counts, NPS categories, top-two boxes."""
        s = self.sums
        categories = (self.promoters, self.passives, self.detractors, self.top2)
        return (s.n, s.total, s.squares, self.counts, *categories)

    def add(self, scored: int) -> None:
        self.sums.add(float(scored))
        self.counts[scored - self.low] += 1
        if is_nps(self.construct):
            if scored >= 9:
                self.promoters += 1
            elif scored >= 7:
                self.passives += 1
            else:
                self.detractors += 1
        elif scored >= self.high - 1:
            self.top2 += 1


Row = tuple[object, ...]


def aggregate_rows(org: Organisation) -> tuple[list[Row], list[Row]]:
    """agg_construct and agg_item rows of every answer the generator produced."""
    constructs: dict[tuple[str, str, str, str], Sums] = defaultdict(Sums)
    items: dict[tuple[str, str, str], ItemSums] = {}
    records: list[tuple[str, str, str, tuple[ItemSlot, ...], tuple[int, ...]]] = []
    for answer in org.answers:
        unit = org.employees[answer.employee].unit_id
        period = org.periods[answer.period].label
        records.append((unit, period, EMPLOYEE, org.bank.employee, answer.scores))
    for interaction in org.interactions:
        if interaction.responds:
            period = org.periods[interaction.period].label
            records.append(
                (interaction.unit_id, period, CUSTOMER, org.bank.customer, interaction.scores)
            )
    for unit, period, population, slots, scores in records:
        per_construct: dict[str, list[float]] = defaultdict(list)
        for slot, raw in zip(slots, scores, strict=True):
            scored, value = score(slot, raw)
            per_construct[slot.construct].append(value)
            spec = slot.spec
            key = (unit, period, slot.item_id)
            if key not in items:
                counts = [0] * (spec.high - spec.low + 1)
                items[key] = ItemSums(
                    slot.construct, population, spec.low, spec.high, Sums(), counts
                )
            items[key].add(scored)
        for construct, values in per_construct.items():
            constructs[(unit, period, construct, population)].add(sum(values) / len(values))
    construct_rows: list[Row] = [(*k, s.n, s.total, s.squares) for k, s in constructs.items()]
    item_rows: list[Row] = [
        (*key, i.construct, i.population, i.low, i.high, *i.row_tail()) for key, i in items.items()
    ]
    return construct_rows, item_rows


async def load(database_url: str, org: Organisation) -> int:
    construct_rows, item_rows = aggregate_rows(org)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.executemany(
            "INSERT INTO correlation.agg_construct (unit_id, period, construct, population, n,"
            " sum, sumsq) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            construct_rows,
        )
        await conn.executemany(
            "INSERT INTO correlation.agg_item (unit_id, period, item_id, construct, population,"
            " scale_min, scale_max, n, sum, sumsq, counts, promoters, passives, detractors,"
            " top2) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            item_rows,
        )
        await conn.execute("ANALYZE correlation.agg_construct")
        await conn.execute("ANALYZE correlation.agg_item")
    finally:
        await conn.close()
    return len(construct_rows) + len(item_rows)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


async def time_page(http: httpx.AsyncClient, path: str, repeats: int) -> tuple[float, float, float]:
    """(p95 ms, KB, ms of the first view: nothing of this page cached or ledgered yet)."""
    first = 0.0
    for attempt in range(2):
        started = time.perf_counter()
        warm = await http.get(path)
        if attempt == 0:
            first = (time.perf_counter() - started) * 1000
        assert warm.status_code == 200, (path, warm.status_code, warm.text[:500])
    samples = []
    size = 0
    for _ in range(repeats):
        started = time.perf_counter()
        reply = await http.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert reply.status_code == 200, (path, reply.status_code)
        size = len(reply.content)
    return p95(samples), size / 1024, first


async def run(config: Config, seed: int) -> None:
    first, _ = periods_back(date.today(), "month", 12 if config.size == "medium" else 6)
    org = generate(DemoConfig(size=config.size, start_month=first), seed)
    work = Path(tempfile.mkdtemp(prefix="pulse-bench-dashboard-"))
    try:
        async with servers(work) as found:
            encoded = hash_password(PASSWORD, iterations=10_000)
            env = {
                "PULSE_WAVE_SCHEDULER_INTERVAL_S": "0",
                "PULSE_WEB_ACCOUNTS": f"leader:{encoded}:",
                "PULSE_PERIOD": "month",
                # Explicit secrets: with PULSE_DATABASE_URL/PULSE_NATS_URL none is generated.
                "PULSE_HMAC_SECRET": secrets.token_hex(24),
            }
            settings = settings_for_tests(found.database_url, found.nats_url, **env)
            async with inprocess_stack(settings, [SURVEY, RESPONSE, CORRELATION]) as stack:
                await measure(stack, env, org, found.database_url, config)
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def measure(
    stack: object, env: dict[str, str], org: Organisation, url: str, config: Config
) -> None:

    assert isinstance(stack, InProcessStack)
    # The operator's tools identity (mutual TLS and a token), as the tests use.
    survey_channel = tools_channel(stack.address("survey"))
    corr_channel = tools_channel(stack.address("correlation"))
    survey = survey_grpc.SurveyServiceStub(survey_channel)
    correlation = corr_grpc.CorrelationServiceStub(corr_channel)
    since = org.periods[0].start.isoformat()
    for unit in org.units:
        await survey.CreateUnit(
            survey_pb.CreateUnitRequest(
                unit_id=unit.unit_id,
                name=unit.name,
                parent_id=unit.parent_id,
                unit_type=unit_type(unit.unit_type),
                effective_from=since,
            )
        )

    async def org_known() -> bool:
        stats = await correlation.GetIngestionStats(corr_pb.GetIngestionStatsRequest())
        return stats.units_known >= len(org.units)

    await wait_until(org_known, 60, "the correlation service knowing the org")
    rows = await load(url, org)
    print(f"data: {len(org.units)} units, {len(org.periods)} months, {rows} aggregate rows")
    app = create_app(load_web_config(env, settings=stack.settings))
    app.state.web.clients = open_clients(stack.settings)
    try:
        async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=60) as http:
            login = await http.get("/login")
            csrf = re.search(r'name="csrf" value="([^"]*)"', login.text)
            assert csrf
            signed = await http.post(
                "/login", data={"csrf": csrf.group(1), "username": "leader", "password": PASSWORD}
            )
            assert signed.status_code == 303, signed.text
            root = org.units[0].unit_id
            division = next(u for u in org.units if u.parent_id == root)
            department = next(u for u in org.units if u.parent_id == division.unit_id)
            team = next(u for u in org.units if u.parent_id == department.unit_id)
            reports = await http.get("/reports")
            form = re.search(r'name="csrf" value="([^"]*)"', reports.text)
            assert form
            ran = await http.post(
                "/reports",
                data={
                    "csrf": form.group(1),
                    "scope": "",
                    "outcome": REPORT_DEFAULTS.outcome,
                    "max_lag": str(REPORT_DEFAULTS.max_lag),
                },
            )
            assert ran.status_code == 303, ran.text[:500]
            pages = {
                "landing": "/dashboard",
                "division": f"/dashboard?scope={division.unit_id}",
                "department": f"/dashboard?scope={department.unit_id}",
                "team": f"/dashboard?scope={team.unit_id}",
                "report": ran.headers["location"],
            }
            for name, path in pages.items():
                ms, kb, first = await time_page(http, path, config.repeats)
                verdict = "PASS" if ms < TARGET_MS and kb < TARGET_KB else "INFO"
                print(
                    f"dashboard {name}: p95_ms={ms:.0f} kb={kb:.0f}"
                    f"  [{verdict}; first view {first:.0f} ms]"
                )
    finally:
        await app.state.web.clients.close()
        await survey_channel.close()
        await corr_channel.close()


if __name__ == "__main__":
    raise SystemExit(
        bench_main(__doc__, run, FULL, QUICK, "the small organisation (30 teams, 6 months)")
    )
