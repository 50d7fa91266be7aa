#!/usr/bin/env python3
"""Benchmark: does a linkage report cost the same at 1M responses as at 10k? (not a test)

For each size (10,000 then 1,000,000 responses, half employee and half customer, spread
evenly over U units x P months that have ended), a child process starts an embedded
PostgreSQL and NATS (harness.py) and the correlation service in-process, publishes the org
(two regions over the units) and the two survey versions of ``bench_report_cost``, and
writes the per-(unit, month) aggregates those responses add up to straight into the
correlation tables (the sums ingestion builds; ingestion is ``bench_ingest``'s subject):
a cell gets floor(r) or floor(r) + 1 responses per population, r = responses / (2 x cells).
Then ``RunLinkageReport`` (2 predictors, csat outcome, lag 1, B bootstrap resamples, no
permutation test) runs once untimed (it freezes the ended months), then ``repeats`` times timed;
the fastest is kept. Memory: the correlation process's resident set is sampled every 5 ms
during the timed reports; printed is the peak growth over the resident set before them.

Prints ``ratio report_1m_vs_10k <time(1M) / time(10k)>`` (target <= 1.2, and the 1M time
<= 1 s, issue 20), ``ratio report_rss_1m_vs_10k <growth(1M) / growth(10k)>`` (<= 1.2),
and the aggregate rows, units reported and times of both.

The 10k baseline is degenerate: 10,000 responses over 500 units x 24 months are 0.4 per
cell and population, so no unit reaches k in any month; each month releases the two
regions only, the report has 2 analysis units and runs no bootstrap (not enough units),
while the 1M report releases 500 units and runs 2 x 9,999 resamples over them. The ratios
keep the issue's definition all the same (same units, periods and resamples requested);
a line says when the baseline is degenerate, so read the 1M time beside them.

Usage: bench_report_scale.py [--quick] [--seed S]
  --quick: 100 units x 12 months, 1,000 resamples, 10k vs 100k responses (under a minute)
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import asyncpg
import nats
from bench_report_cost import CUSTOMER_SURVEY, EMPLOYEE_SURVEY
from harness import bench_main, ratio, servers, wait_until
from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse.correlation.v1 import correlation_service_pb2_grpc as pb_grpc
from pulse.events.v1 import events_pb2
from pulse_common import subjects
from pulse_common.config import load_settings
from pulse_common.messaging import ensure_stream, publish_event
from pulse_common.periods import Period, period_of
from pulse_common.runtime import start_service
from pulse_correlation.app import DEFINITION
from pulse_correlation.domain import ItemSpec, item_specs, population_of
from pulse_testing.security import as_viewer, tools_channel

TIME_TARGET = 1.2
# Fewer analysis units than this: the report cannot estimate a correlation (no bootstrap).
DEGENERATE_BELOW = 4
ABSOLUTE_TARGET_S = 1.0


@dataclass(frozen=True)
class Config:
    units: int
    periods: int
    small: int
    large: int
    resamples: int
    repeats: int


FULL = Config(units=500, periods=24, small=10_000, large=1_000_000, resamples=9_999, repeats=3)
QUICK = Config(units=100, periods=12, small=10_000, large=100_000, resamples=1_000, repeats=3)


@dataclass(frozen=True)
class Measured:
    responses: int
    aggregate_rows: int
    seconds: float
    rss_growth_mb: float
    rss_before_mb: float
    units_reported: int
    verdict: str


# ---------------------------------------------------------------- parent


async def run(config: Config, seed: int) -> None:
    print(
        f"bench_report_scale: {config.units} units x {config.periods} months, "
        f"{config.resamples} bootstrap resamples, {config.small} vs "
        f"{config.large} responses; Python {platform.python_version()} on "
        f"{platform.machine()}, {os.cpu_count()} CPUs"
    )
    results = [
        await asyncio.to_thread(_child, config, size, seed) for size in (config.small, config.large)
    ]
    small, large = results
    for m in results:
        print(
            f"{m.responses:>9} responses: {m.aggregate_rows} aggregate rows, report "
            f"{m.seconds * 1000:.0f} ms (fastest of {config.repeats}), resident set +"
            f"{m.rss_growth_mb:.1f} MB over {m.rss_before_mb:.0f} MB, "
            f"{m.units_reported} units reported, verdict {m.verdict!r}"
        )
    if small.units_reported < DEGENERATE_BELOW <= large.units_reported:
        print(
            f"note: degenerate baseline: at {small.responses} responses only "
            f"{small.units_reported} analysis units are released (no unit-month cell reaches "
            f"k), so that report runs no bootstrap; at {large.responses}, "
            f"{large.units_reported} units and {config.resamples} resamples per predictor"
        )
    ratio(
        "report_1m_vs_10k",
        large.seconds / small.seconds,
        f"{large.seconds * 1000:.0f} ms at {large.responses} vs {small.seconds * 1000:.0f} ms "
        f"at {small.responses}; targets <= {TIME_TARGET} and <= {ABSOLUTE_TARGET_S:.0f} s",
    )
    ratio(
        "report_rss_1m_vs_10k",
        max(large.rss_growth_mb, 1.0) / max(small.rss_growth_mb, 1.0),
        f"resident set growth during the reports {large.rss_growth_mb:.1f} vs "
        f"{small.rss_growth_mb:.1f} MB (floored at 1 MB); target <= {TIME_TARGET}",
    )


def _child(config: Config, size: int, seed: int) -> Measured:
    """One size in its own process, so its resident set is its own."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(asdict(config)), str(size), str(seed)],
        check=False,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the {size} run failed:\n{done.stderr[-3000:]}")
    last = done.stdout.strip().splitlines()[-1]
    return Measured(**json.loads(last))


# ---------------------------------------------------------------- child


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class RssPeak:
    """Samples this process's resident set every 5 ms in a thread."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.005)

    def __enter__(self) -> RssPeak:
        self.peak = rss_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def months(count: int) -> list[str]:
    """The ``count`` months that ended last (the current one is still open)."""
    last: Period = period_of(date.today(), "month").shift(-1)
    return [last.shift(-i).label for i in reversed(range(count))]


def cell_rows(
    config: Config, size: int, rng: random.Random
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Population, construct and item rows of ``size`` responses over the cells."""
    units = [f"U{i:03d}" for i in range(config.units)]
    periods = months(config.periods)
    per_cell = size / (2 * len(units) * len(periods))
    whole, frac = int(per_cell), per_cell - int(per_cell)
    pops: list[tuple[object, ...]] = []
    cons: list[tuple[object, ...]] = []
    items: list[tuple[object, ...]] = []
    for definition in (EMPLOYEE_SURVEY, CUSTOMER_SURVEY):
        population = population_of(definition.kind)
        specs = item_specs(definition)
        for index, unit in enumerate(units):
            quality = (index % 7) / 6
            for period in periods:
                n = whole + (1 if rng.random() < frac else 0)
                if n == 0:
                    continue
                pops.append((unit, period, population, n))
                by_construct: dict[str, list[float]] = {}
                for spec in specs.values():
                    row, score = _item(unit, period, population, spec, n, quality, rng)
                    items.append(row)
                    by_construct.setdefault(spec.construct, []).append(score)
                for construct, scores in by_construct.items():
                    mean = sum(scores) / len(scores)
                    cons.append(
                        (
                            unit,
                            period,
                            construct,
                            population,
                            n,
                            n * mean,
                            n * (mean * mean + 150.0),
                        )
                    )
    return pops, cons, items


def _item(
    unit: str,
    period: str,
    population: str,
    spec: ItemSpec,
    n: int,
    quality: float,
    rng: random.Random,
) -> tuple[tuple[object, ...], float]:
    span = spec.scale_max - spec.scale_min
    mean = spec.scale_min + span * min(1.0, max(0.0, quality + rng.gauss(0, 0.1)))
    point = round(mean)
    counts = [0] * (span + 1)
    counts[point - spec.scale_min] = n
    nps = span == 10
    row = (
        unit,
        period,
        spec.item_id,
        spec.construct,
        population,
        spec.scale_min,
        spec.scale_max,
        n,
        n * mean,
        n * (mean * mean + 0.5),
        counts,
        n if nps and point >= 9 else 0,
        n if nps and 7 <= point <= 8 else 0,
        n if nps and point <= 6 else 0,
        n if point >= spec.scale_max - 1 else 0,
        n,
        n * mean * spec.to_100(mean),
    )
    return row, spec.to_100(mean)


async def load(database_url: str, config: Config, size: int, rng: random.Random) -> int:
    pops, cons, items = cell_rows(config, size, rng)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.copy_records_to_table(
            "agg_population",
            schema_name="correlation",
            records=pops,
            columns=("unit_id", "period", "population", "n"),
        )
        await conn.copy_records_to_table(
            "agg_construct",
            schema_name="correlation",
            records=cons,
            columns=("unit_id", "period", "construct", "population", "n", "sum", "sumsq"),
        )
        await conn.copy_records_to_table(
            "agg_item",
            schema_name="correlation",
            records=items,
            columns=(
                "unit_id",
                "period",
                "item_id",
                "construct",
                "population",
                "scale_min",
                "scale_max",
                "n",
                "sum",
                "sumsq",
                "counts",
                "promoters",
                "passives",
                "detractors",
                "top2",
                "n_xt",
                "sum_xt",
            ),
        )
        await conn.execute("VACUUM ANALYZE correlation.agg_construct, correlation.agg_item")
    finally:
        await conn.close()
    return len(pops) + len(cons) + len(items)


async def child(config: Config, size: int, seed: int) -> Measured:
    rng = random.Random(seed + size)
    work_dir = Path(tempfile.mkdtemp(prefix="pulse-bench-"))
    try:
        async with servers(work_dir) as infra:
            settings = load_settings(
                {
                    "PULSE_DATABASE_URL": infra.database_url,
                    "PULSE_NATS_URL": infra.nats_url,
                    "PULSE_DATA_DIR": infra.data_dir,
                    "PULSE_CORRELATION_ADDR": "127.0.0.1:0",
                    "PULSE_SHUTDOWN_GRACE_S": "0.5",
                    "PULSE_LOG_LEVEL": "WARNING",
                }
            )
            service = await start_service(DEFINITION, settings, "127.0.0.1:0")
            nc = await nats.connect(infra.nats_url)
            try:
                js = nc.jetstream()
                await ensure_stream(js)
                units = await publish_org(js, config)
                async with tools_channel(service.address) as channel:
                    stub = pb_grpc.CorrelationServiceStub(channel)

                    async def known() -> bool:
                        stats = await stub.GetIngestionStats(pb.GetIngestionStatsRequest())
                        return stats.surveys_known == 2 and stats.units_known == units

                    await wait_until(known, 120, "org and surveys known")
                    rows = await load(infra.database_url, config, size, rng)
                    return await time_reports(stub, config, size, rows)
            finally:
                await nc.close()
                await service.stop(grace_s=0.5)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


async def publish_org(js: nats.js.JetStreamContext, config: Config) -> int:
    org = [("ROOT", ""), ("north", "ROOT"), ("south", "ROOT")]
    org += [(f"U{i:03d}", "north" if i % 2 else "south") for i in range(config.units)]
    await asyncio.gather(
        *(
            publish_event(
                js,
                subjects.ORG_CHANGED,
                events_pb2.OrgChanged(
                    unit_id=unit,
                    parent_id=parent,
                    name=unit,
                    valid_from="2020-01-01",
                    change="created",
                    org_version=version,
                ),
                msg_id=f"bench-org:{unit}",
            )
            for version, (unit, parent) in enumerate(org, start=1)
        )
    )
    for survey in (EMPLOYEE_SURVEY, CUSTOMER_SURVEY):
        await publish_event(
            js,
            subjects.SURVEY_PUBLISHED,
            events_pb2.SurveyPublished(survey=survey),
            msg_id=f"bench-survey:{survey.survey_id}",
        )
    return len(org)


async def time_reports(
    stub: pb_grpc.CorrelationServiceAsyncStub, config: Config, size: int, rows: int
) -> Measured:
    periods = months(config.periods)

    async def one() -> pb.LinkageReport:
        request = pb.RunLinkageReportRequest(
            predictors=["treatment.fairness", "treatment.support"],
            outcome="csat",
            max_lag=1,
            period_from=periods[0],
            period_to=periods[-1],
            options=pb.LinkageOptions(
                bootstrap_resamples=config.resamples,
                permutation_resamples=0,
                confidence_level=0.95,
                random_seed=1,
            ),
        )
        viewer = as_viewer(f"bench-{uuid.uuid4().hex[:8]}")
        reply = await stub.RunLinkageReport(request, timeout=600, metadata=viewer)
        report: pb.LinkageReport = reply.report
        return report

    await one()  # freezes the ended months, warms caches
    before = rss_mb()
    samples = []
    with RssPeak() as peak:
        for _ in range(config.repeats):
            start = time.perf_counter()
            report = await one()
            samples.append(time.perf_counter() - start)
    return Measured(
        responses=size,
        aggregate_rows=rows,
        seconds=min(samples),
        rss_growth_mb=peak.peak - before,
        rss_before_mb=before,
        units_reported=report.units_reported,
        verdict=report.verdict.level,
    )


def child_main(args: list[str]) -> int:
    config = Config(**json.loads(args[0]))
    measured = asyncio.run(child(config, int(args[1]), int(args[2])))
    print(json.dumps(asdict(measured)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return bench_main(
        __doc__, run, FULL, QUICK, "100 units x 12 months, 10k vs 100k (under a minute)", argv
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.exit(child_main(sys.argv[2:]))
    sys.exit(main())
