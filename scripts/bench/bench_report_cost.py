#!/usr/bin/env python3
"""Benchmark: is a linkage report's cost independent of the number of responses? (not a test)

The correlation service keeps per (unit, period[, item]) sufficient statistics, so
``RunLinkageReport`` should cost O(units x periods x items) whatever the response volume.
This script measures that end to end on real servers: an embedded PostgreSQL and NATS
JetStream in a temporary directory (or the servers named by ``PULSE_DATABASE_URL`` /
``PULSE_NATS_URL``: a fresh database is created and dropped; the NATS server must not hold a
PULSE stream with messages), the correlation service started in-process with
``pulse_common.runtime.start_service``, everything on 127.0.0.1.

Steps (U units x P periods; R = employee and R customer responses per unit-period), done
once with R and once with 4R responses per cell, each on fresh servers (a report freezes
the months that ended, so responses added after a first report are not in later reports:
timing 4R after R on one database would time R's frozen numbers again, which is what this
script did before issue 20):

1. baseline  raw JetStream publish rate: the same ``ResponseRecorded`` payloads published
             (same publisher, same concurrency window) to ``pulse.bench.baseline``, which
             no consumer reads.
2. volume    publish the responses on ``pulse.response.recorded`` and wait until
             ``GetIngestionStats`` counts them all: ingestion throughput = responses /
             (first publish -> all counted).
3. reports   ``RunLinkageReport`` (2 predictors, csat outcome, lag 1) with bootstrap and
             permutation resamples 0 and 2000, fastest of 7 calls after one untimed warm-up
             (the least disturbed by other load), each by a new viewer. Timed once right
             after ingestion (resamples 0) and then after ``VACUUM ANALYZE`` of the
             aggregate tables, autovacuum's job in steady state.

Targets (ratios against baselines measured in the same run; nothing asserts on time; PASS
when met, INFO otherwise; exit code 0 unless the run itself fails):

* report time(4R) / time(R) <= 1.5 for each resampling setting, after vacuum (report cost
  independent of responses; the aggregate row counts read and the units reported are
  printed too: when R leaves cells under k, fewer units are analysed at R, and the ratio
  then also measures the statistics of the extra units). The ratio right after ingestion,
  before vacuum, is printed as INFO;
* ingestion throughput at R / at 4R <= 1.5 (per-response ingestion cost does not grow with
  volume);
* ingestion throughput vs raw publish rate: context only (INFO).

Usage: bench_report_cost.py [--quick] [--seed S]   (--quick: a small run, under a minute)
"""

from __future__ import annotations

import platform
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import nats
import nats.js.errors
from harness import Servers, bench_main, publish_all, publish_regions, servers, wait_until
from nats.js import JetStreamContext
from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse.correlation.v1 import correlation_service_pb2_grpc as pb_grpc
from pulse.events.v1 import events_pb2
from pulse_common import subjects
from pulse_common.config import load_settings
from pulse_common.runtime import start_service
from pulse_correlation.app import DEFINITION, RESPONSE_WORKERS
from pulse_testing.security import as_viewer, tools_channel
from report_cost_data import (
    CUSTOMER_SURVEY,
    EMPLOYEE_SURVEY,
    Config,
    periods_of,
    responses,
    units_of,
)

EVENT_TYPE = events_pb2.ResponseRecorded.DESCRIPTOR.full_name

FLAT_MAX_GROWTH = 1.5
BASELINE_SUBJECT = "pulse.bench.baseline"
RESAMPLES = (0, 2000)

FULL = Config(units=40, periods=6, per_cell=8, repeats=7)
QUICK = Config(units=16, periods=3, per_cell=6, repeats=7)


# ---------------------------------------------------------------- infrastructure


# ---------------------------------------------------------------- measurement


@dataclass
class Phase:
    responses: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.responses / self.seconds


async def ingest(
    js: JetStreamContext,
    stub: pb_grpc.CorrelationServiceAsyncStub,
    payloads: Sequence[bytes],
    expected_total: int,
) -> Phase:
    async def counted() -> bool:
        stats = await stub.GetIngestionStats(pb.GetIngestionStatsRequest(), timeout=10)
        return stats.responses_counted >= expected_total

    start = time.perf_counter()
    await publish_all(
        js, subjects.RESPONSE_RECORDED, payloads, events_pb2.ResponseRecorded.DESCRIPTOR.full_name
    )
    await wait_until(counted, limit_s=600, what=f"{expected_total} responses counted")
    return Phase(len(payloads), time.perf_counter() - start)


async def time_reports(
    stub: pb_grpc.CorrelationServiceAsyncStub, resamples: int, repeats: int
) -> tuple[float, pb.LinkageReport]:
    samples: list[float] = []
    report = pb.LinkageReport()
    for attempt in range(repeats + 1):  # the first call warms caches and is not timed
        # A new viewer each time (its own differencing ledger), as the token's subject.
        viewer = as_viewer(f"bench-{uuid.uuid4().hex[:8]}")
        request = pb.RunLinkageReportRequest(
            predictors=["treatment.fairness", "treatment.support"],
            outcome="csat",
            max_lag=1,
            options=pb.LinkageOptions(
                bootstrap_resamples=resamples,
                permutation_resamples=resamples,
                confidence_level=0.95,
                random_seed=1,
            ),
        )
        start = time.perf_counter()
        reply = await stub.RunLinkageReport(request, timeout=300, metadata=viewer)
        if attempt:
            samples.append(time.perf_counter() - start)
        report = reply.report
    # The minimum is the least disturbed by other load on the machine (as timeit advises).
    return min(samples), report


async def aggregate_rows(database_url: str) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        return {
            table: int(await conn.fetchval(f"SELECT count(*) FROM correlation.{table}"))
            for table in ("agg_construct", "agg_item", "agg_population")
        }
    finally:
        await conn.close()


async def vacuum(database_url: str) -> int:
    """VACUUM ANALYZE the aggregate tables; returns the dead row versions found before.

    Every counted response updates its cells' aggregate rows, leaving dead row versions
    (PostgreSQL MVCC) that scans read until (auto)vacuum removes them. In steady state
    autovacuum keeps up; right after a burst the scan briefly grows with the burst, which is
    printed separately from the vacuumed timings."""
    tables = ("agg_construct", "agg_item", "agg_population", "agg_channel")
    conn = await asyncpg.connect(database_url)
    try:
        dead = 0
        for table in tables:
            # pg_stat_* is updated asynchronously; an approximation is enough for context.
            dead += int(
                await conn.fetchval(
                    "SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables"
                    " WHERE schemaname = 'correlation' AND relname = $1",
                    table,
                )
            )
        await conn.execute("VACUUM (ANALYZE) " + ", ".join(f"correlation.{t}" for t in tables))
        return dead
    finally:
        await conn.close()


def line(status: str, check: str, value: str, target: str) -> None:
    print(f"{status:<5} {check:<58} {value:>22}  {target}")


@dataclass
class SizeResult:
    ingest: Phase
    baseline: Phase
    rows: dict[str, int]
    fresh: tuple[float, pb.LinkageReport]
    dead: int
    times: dict[int, tuple[float, pb.LinkageReport]]


async def run(config: Config, seed: int) -> None:
    """R and 4R each on fresh servers: a report freezes the months that ended (the release
    ledger), so responses added after a first report would not be in later reports; timing
    4R on the same database would time R's frozen numbers again."""
    rng = random.Random(seed)
    first = responses(config, config.per_cell, rng)
    four = responses(config, 4 * config.per_cell, rng)
    units, periods = units_of(config), periods_of(config)
    print(
        f"bench_report_cost: {len(units)} units x {len(periods)} periods, R = "
        f"{config.per_cell} employee + {config.per_cell} customer responses per unit-period "
        f"({len(first)} responses), 4R = {len(four)}, each on fresh servers; "
        f"Python {platform.python_version()} on {platform.machine()}"
    )
    r = await one_size(config, first)
    r4 = await one_size(config, four)
    report(config, r, r4)


async def one_size(config: Config, payloads: list[bytes]) -> SizeResult:
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
                return await measure(config, payloads, infra, service.address, nc.jetstream())
            finally:
                await nc.close()
                await service.stop(grace_s=0.5)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


async def measure(
    config: Config,
    payloads: list[bytes],
    infra: Servers,
    address: str,
    js: JetStreamContext,
) -> SizeResult:
    units = units_of(config)
    # Org: two regions, units alternating between them.
    known = await publish_regions(js, units, (EMPLOYEE_SURVEY, CUSTOMER_SURVEY), "2024-01-01")
    async with tools_channel(address) as channel:
        stub = pb_grpc.CorrelationServiceStub(channel)

        async def ready() -> bool:
            stats = await stub.GetIngestionStats(pb.GetIngestionStatsRequest(), timeout=10)
            return stats.surveys_known == 2 and stats.units_known == known

        await wait_until(ready, 60, "surveys and org known")
        baseline_s = await publish_all(
            js, BASELINE_SUBJECT, payloads, events_pb2.ResponseRecorded.DESCRIPTOR.full_name
        )
        phase = await ingest(js, stub, payloads, len(payloads))
        rows = await aggregate_rows(infra.database_url)
        fresh = await time_reports(stub, 0, config.repeats)
        dead = await vacuum(infra.database_url)
        times = {r: await time_reports(stub, r, config.repeats) for r in RESAMPLES}
    return SizeResult(phase, Phase(len(payloads), baseline_s), rows, fresh, dead, times)


def report(config: Config, r: SizeResult, r4: SizeResult) -> None:
    print()
    print(f"{'':<5} {'check':<58} {'value':>22}  target")
    for resamples in RESAMPLES:
        (t_r, rep_r), (t_4r, rep_4r) = r.times[resamples], r4.times[resamples]
        growth = t_4r / t_r
        line(
            "PASS" if growth <= FLAT_MAX_GROWTH else "INFO",
            f"report time(4R)/time(R), resamples={resamples}",
            f"{growth:.2f} ({t_r * 1000:.0f}/{t_4r * 1000:.0f} ms)",
            f"<= {FLAT_MAX_GROWTH}",
        )
        line(
            "INFO",
            f"  units reported R / 4R, resamples={resamples}",
            f"{rep_r.units_reported} / {rep_4r.units_reported}",
            "same units: same work",
        )
    line(
        "INFO",
        "  same, resamples=0, right after ingestion (no vacuum yet)",
        f"{r4.fresh[0] / r.fresh[0]:.2f} ({r.fresh[0] * 1000:.0f}/{r4.fresh[0] * 1000:.0f} ms)",
        f"dead row versions {r.dead} / {r4.dead}",
    )
    line(
        "INFO",
        "aggregate rows (construct/item/population) R vs 4R",
        f"{sum(r.rows.values())} vs {sum(r4.rows.values())}",
        "what a report reads; flat in responses",
    )
    growth = r.ingest.rate / r4.ingest.rate
    line(
        "PASS" if growth <= FLAT_MAX_GROWTH else "INFO",
        "ingestion rate R / 4R (per-response cost)",
        f"{growth:.2f} ({r.ingest.rate:.0f}/{r4.ingest.rate:.0f} r/s)",
        f"<= {FLAT_MAX_GROWTH}",
    )
    line(
        "INFO",
        "ingestion responses/s vs raw JetStream publish/s (4R)",
        f"{r4.ingest.rate:.0f} vs {r4.baseline.rate:.0f} ({r4.ingest.rate / r4.baseline.rate:.2f})",
        f"context ({RESPONSE_WORKERS} workers, 1 tx per fetched batch)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    return bench_main(__doc__, run, FULL, QUICK, "small run (under a minute)", argv)


if __name__ == "__main__":
    sys.exit(main())
