#!/usr/bin/env python3
"""Benchmark: how fast does the correlation service count responses from the stream,
against a raw JetStream consumer reading the same messages? (not a test)

N ``ResponseRecorded`` events (employee and customer responses over U units x P periods,
from ``bench_report_cost``'s generator, ``report_cost_data``) and the org and survey events
they need are published to an embedded JetStream first. Then, in the same run:

1. baseline  a raw durable pull consumer fetches (64 at a time) and acks the N messages of
             ``pulse.response.recorded``: raw consume+ack msgs/s.
2. service   the correlation service is started in-process (its response consumer: 2 loops
             on one durable, each fetched batch counted in one transaction with the ledger
             rows, acked after the commit) and timed from its start until
             ``GetIngestionStats`` counts all N: ingestion msgs/s.

Prints ``ratio ingest_vs_jetstream <service / baseline>`` (target >= 0.25, issue 20), the
two rates, how the loops handled the batches, and ``GetIngestionStats``' latency.

Usage: bench_ingest.py [--quick] [--seed S]   (--quick: N = 2,400, under a minute)
"""

from __future__ import annotations

import asyncio
import platform
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nats
from harness import (
    bench_main,
    consume_all,
    consumer_summary,
    publish_all,
    publish_regions,
    ratio,
    servers,
)
from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse.correlation.v1 import correlation_service_pb2_grpc as pb_grpc
from pulse.events.v1 import events_pb2
from pulse_common import subjects
from pulse_common.config import load_settings
from pulse_common.messaging import ensure_stream
from pulse_common.runtime import start_service
from pulse_correlation.app import DEFINITION
from pulse_correlation.messaging import RESPONSES_DURABLE
from pulse_testing.security import tools_channel
from report_cost_data import CUSTOMER_SURVEY, EMPLOYEE_SURVEY, responses, units_of
from report_cost_data import Config as CostConfig

EVENT_TYPE = events_pb2.ResponseRecorded.DESCRIPTOR.full_name
TARGET = 0.25


@dataclass(frozen=True)
class Config:
    units: int
    periods: int
    per_cell: int  # employee and customer responses per unit-period


FULL = Config(units=40, periods=6, per_cell=25)  # 12,000 responses
QUICK = Config(units=20, periods=6, per_cell=10)  # 2,400


async def run(config: Config, seed: int) -> None:
    rng = random.Random(seed)
    cost = CostConfig(config.units, config.periods, config.per_cell, repeats=1)
    payloads = responses(cost, config.per_cell, rng)
    work_dir = Path(tempfile.mkdtemp(prefix="pulse-bench-"))
    try:
        async with servers(work_dir) as infra:
            print(
                f"bench_ingest: {len(payloads)} responses over {config.units} units x "
                f"{config.periods} periods; {infra.description}; "
                f"Python {platform.python_version()} on {platform.machine()}"
            )
            nc = await nats.connect(infra.nats_url)
            js = nc.jetstream()
            try:
                await ensure_stream(js)
                await publish_setup(js, cost)
                await publish_all(js, subjects.RESPONSE_RECORDED, payloads, EVENT_TYPE)
                raw_s = await consume_all(
                    js, subjects.RESPONSE_RECORDED, len(payloads), "bench-raw-ingest"
                )
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
                start = time.perf_counter()  # migrated and wired; the consumers start now
                try:
                    async with tools_channel(service.address) as channel:
                        stub = pb_grpc.CorrelationServiceStub(channel)
                        stats_ms = await wait_counted(stub, len(payloads))
                        service_s = time.perf_counter() - start
                    summary = consumer_summary(service.context.consumers, RESPONSES_DURABLE)
                finally:
                    await service.stop(grace_s=0.5)
            finally:
                await nc.close()
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    raw_rate, service_rate = len(payloads) / raw_s, len(payloads) / service_s
    print(f"raw consume+ack: {raw_rate:.0f} msgs/s ({raw_s:.2f} s)")
    print(f"ingestion: {service_rate:.0f} msgs/s ({service_s:.2f} s from service start)")
    print(summary)
    print(f"GetIngestionStats: median {stats_ms:.1f} ms while ingesting")
    ratio(
        "ingest_vs_jetstream",
        service_rate / raw_rate,
        f"{service_rate:.0f} vs {raw_rate:.0f} msgs/s; target >= {TARGET}",
    )


async def publish_setup(js: nats.js.JetStreamContext, cost: CostConfig) -> None:
    await publish_regions(js, units_of(cost), (EMPLOYEE_SURVEY, CUSTOMER_SURVEY), "2024-01-01")


async def wait_counted(stub: pb_grpc.CorrelationServiceAsyncStub, expected: int) -> float:
    """Poll until ``expected`` responses are counted; the median stats call in ms."""
    samples: list[float] = []
    deadline = time.perf_counter() + 300
    while time.perf_counter() < deadline:
        asked = time.perf_counter()
        stats = await stub.GetIngestionStats(pb.GetIngestionStatsRequest(), timeout=10)
        samples.append((time.perf_counter() - asked) * 1000)
        if stats.responses_counted >= expected:
            return sorted(samples)[len(samples) // 2]
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{expected} responses not counted within 300 s")


def main(argv: Sequence[str] | None = None) -> int:
    return bench_main(__doc__, run, FULL, QUICK, "N = 2,400 (under a minute)", argv)


if __name__ == "__main__":
    sys.exit(main())
