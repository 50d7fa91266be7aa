#!/usr/bin/env python3
"""Benchmark: does a linkage report cost the same at 1M responses as at 10k? (not a test)

For each size (10,000 then 1,000,000 responses, half employee and half customer, over U units
x P months that have ended; ``rounds`` times, alternating sizes, the fastest process kept, as a
whole process now and then ran 20-40 % slow on this shared machine), a child process
starts an embedded PostgreSQL and NATS (harness.py) and the correlation service in-process,
publishes the org (two regions over the units) and the two survey versions of
``bench_report_cost``, and writes the per-(unit, month) aggregates those responses add up
to straight into the correlation tables (the sums ingestion builds; ingestion is
``bench_ingest``'s subject). Then ``RunLinkageReport``
(2 predictors, csat outcome, lag 1, B bootstrap resamples, no permutation test) runs once
untimed (it freezes the ended months; the database is then vacuumed and
checkpointed, ``settle_database``), then ``repeats`` times timed; the fastest is kept
(the median is printed beside it).
Memory: the correlation process's resident set is sampled every 5 ms during the timed
reports; printed is the peak growth over the resident set before them.

Where the responses fall: each unit gets r = responses / (2 x U) per population, in as
many months as k allows (r // k, at most P): at 1M that is every month (r = 1,000, about
42 per cell); at 10k it is 2 months per unit (r = 10, k = 5), employees' months followed
by customers' one month later, starting months staggered over the P months. So both
reports release the same 500 units and run the same 2 x 9,999 resamples over them, and
what differs is only what the responses add: 12 times the cells and item rows at 1M.
Spread evenly instead, 10k responses are 0.4 per cell: no unit reaches k in any month,
that report releases two regions and runs no statistics, and the ratio would compare a
report with an empty one (it did, up to 2026-12-06: 4.4, see the README).

Prints ``ratio report_1m_vs_10k <time(1M) / time(10k)>`` (target <= 1.2, and the 1M time
<= 1 s, issue 20), ``ratio report_rss_1m_vs_10k <growth(1M) / growth(10k)>`` (<= 1.2),
and the aggregate rows, units reported and times of both.

Usage: bench_report_scale.py [--quick] [--seed S]
  --quick: 100 units x 12 months, 1,000 resamples, 10k vs 100k responses (under a minute)
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import asyncpg
import nats
from harness import bench_main, ratio, servers, wait_until
from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse.correlation.v1 import correlation_service_pb2_grpc as pb_grpc
from pulse_common.config import load_settings
from pulse_common.event_loop import settle_heap
from pulse_common.messaging import ensure_stream
from pulse_common.runtime import start_service
from pulse_correlation.app import DEFINITION
from pulse_testing.security import as_viewer, tools_channel
from report_scale_data import load_elsewhere, months, publish_org

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
    rounds: int  # processes per size, alternating sizes; the fastest process is kept


FULL = Config(
    units=500, periods=24, small=10_000, large=1_000_000, resamples=9_999, repeats=9, rounds=2
)
QUICK = Config(
    units=100, periods=12, small=10_000, large=100_000, resamples=1_000, repeats=3, rounds=1
)


@dataclass(frozen=True)
class Measured:
    responses: int
    aggregate_rows: int
    seconds: float
    median_seconds: float
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
    runs: dict[int, list[Measured]] = {config.small: [], config.large: []}
    for _ in range(config.rounds):
        for size in (config.small, config.large):
            runs[size].append(await asyncio.to_thread(_child, config, size, seed))
    if config.rounds > 1:
        for size, found in runs.items():
            times = ", ".join(f"{m.seconds * 1000:.0f}" for m in found)
            print(f"{size:>9} responses: fastest report per process {times} ms")
    small, large = (min(runs[size], key=lambda m: m.seconds) for size in runs)
    results = [small, large]
    for m in results:
        print(
            f"{m.responses:>9} responses: {m.aggregate_rows} aggregate rows, report "
            f"{m.seconds * 1000:.0f} ms (fastest of {config.repeats}, median "
            f"{m.median_seconds * 1000:.0f}), resident set +"
            f"{m.rss_growth_mb:.1f} MB over {m.rss_before_mb:.0f} MB, "
            f"{m.units_reported} units reported, verdict {m.verdict!r}"
        )
    if small.units_reported != large.units_reported:
        print(
            f"note: the reports are not alike: {small.units_reported} analysis units at "
            f"{small.responses} responses, {large.units_reported} at {large.responses}"
            + (
                " (no bootstrap at the smaller size)"
                if small.units_reported < DEGENERATE_BELOW
                else ""
            )
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


async def child(config: Config, size: int, seed: int) -> Measured:
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
            settle_heap()  # as the service's own process does once it has started
            nc = await nats.connect(infra.nats_url)
            try:
                js = nc.jetstream()
                await ensure_stream(js)
                units = await publish_org(js, config.units)
                async with tools_channel(service.address) as channel:
                    stub = pb_grpc.CorrelationServiceStub(channel)

                    async def known() -> bool:
                        stats = await stub.GetIngestionStats(pb.GetIngestionStatsRequest())
                        return stats.surveys_known == 2 and stats.units_known == units

                    await wait_until(known, 120, "org and surveys known")
                    rows = await load_elsewhere(
                        infra.database_url,
                        config.units,
                        config.periods,
                        size,
                        settings.min_group_size,
                        seed + size,
                    )
                    return await time_reports(stub, config, size, rows, infra.database_url)
            finally:
                await nc.close()
                await service.stop(grace_s=0.5)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


async def time_reports(
    stub: pb_grpc.CorrelationServiceAsyncStub,
    config: Config,
    size: int,
    rows: int,
    database_url: str,
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
    await settle_database(database_url)
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
        median_seconds=statistics.median(samples),
        rss_growth_mb=peak.peak - before,
        rss_before_mb=before,
        units_reported=report.units_reported,
        verdict=report.verdict.level,
    )


async def settle_database(database_url: str) -> None:
    """After the first report froze the months (a copy of every aggregate row): vacuum and
    analyse what it wrote and checkpoint, so the timed reports do not share the machine
    with autovacuum and the checkpointer catching up on the copy (at 1M, 168,000 rows;
    whole runs came out 20-40 % slower when they did)."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("VACUUM ANALYZE")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


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
