#!/usr/bin/env python3
"""Benchmark: how close is a customer Submit to the floor of its durable writes? (not a test)

Deployment (``submit_stack.py``): by default as deployed, ``pulse dev up``'s machinery
starting embedded PostgreSQL and NATS and the survey, response and correlation services each
as a process (own databases, mTLS and caller tokens), and the two bare grpc.aio servers of
``floor_server.py`` in one more process; the client is this process.
``PULSE_BENCH_INPROCESS=1``: everything in this process (``inprocess_stack``), as before.

* floor: its handler does one asyncpg transaction writing the rows a customer Submit
  writes (a response, its 3 scores, an outbox row) into copies of those tables in the
  response service's database (schema ``floor``, so nothing is relayed);
* echo: its handler returns the request.

Phases (same run, the same 2 cores):

1. tokens     customer interactions recorded (``RecordInteraction``, 32 at once), their
              link tokens read from the survey's delivery log; then ``GetForm`` of every
              token (the form is shown before it is sent: Submits carry its sealed grant),
              and a wait until the survey service has mailed them all (not a Submit cost).
2. submit and floor, in paired rounds (``submit_rounds``: 5 rounds of 300 Submits and 300
              floor calls, the order alternating, each phase once the pipeline is idle; on
              a shared machine both sides then see the same load): Submit of 3 scored
              answers with C = 32 callers: Submits/s; CPU ms per Submit = CPU of the
              client, services, PostgreSQL and NATS / Submits, also shown per process;
              floor calls/s with 32 callers (and CPU per call).
3. echo       as many echo calls with 32 callers: calls/s.
4. statements ``log_statement = all`` for S Submits one at a time, then a pause for the
              relays and the correlation consumer: statements per Submit counted from the
              server log by application (``pulse-<schema>``; includes relays and consumers;
              a statement is at most one round trip, ``executemany`` counts per row).
5. lag        Submits paced at half the measured Submit rate for a few seconds; per
              response, time from its Submit reply (accepted) to its ledger row in the
              correlation service (counted in the aggregates), polled every 10 ms.

Prints ``ratio submit_vs_floor`` (target >= 0.5), ``ratio submit_vs_echo`` (informational),
``ratio lag_p99_ms`` (target < 1000) and ``ratio employee_batch_wait_s`` (informational).
``PULSE_BENCH_PROFILE=<file>``: a cProfile of this process during the timed Submits;
``PULSE_PROFILE_DIR=<dir>``: of each service process too (``<dir>/<service>-<pid>.prof``).
``PULSE_EVENT_LOOP=asyncio``: the services on asyncio's own loop instead of uvloop.

Usage: bench_submit.py [--quick] [--seed S]   (--quick: fewer calls, under a minute)
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import grpc
from harness import bench_main, ratio
from pulse.response.v1 import response_service_pb2 as rpb
from pulse.response.v1 import response_service_pb2_grpc as rgrpc
from pulse.survey.v1 import survey_service_pb2_grpc as sgrpc
from pulse.types.v1 import types_pb2
from pulse_testing import survey as survey_kit
from submit_phases import (
    EMPLOYEE_SPACING_S,
    EMPLOYEES,
    Submitter,
    count_statements,
    customer_answers,
    employee_batching_present,
    employee_wait,
    lag_phase,
    profiling,
    settled,
    tokens_for,
)
from submit_rounds import CALLERS, cpu_by_process, paired_rounds, with_callers
from submit_stack import Deployment, deployment

FLOOR_TARGET = 0.5
LAG_TARGET_MS = 1000.0


@dataclass(frozen=True)
class Config:
    submits: int  # timed at C = 32, in ``rounds`` paired with as many floor calls
    rounds: int
    counted: int  # one at a time under log_statement
    lag_seconds: float


FULL = Config(submits=1500, rounds=5, counted=20, lag_seconds=8.0)
QUICK = Config(submits=300, rounds=3, counted=10, lag_seconds=3.0)


async def run(config: Config, seed: int) -> None:
    random.seed(seed)
    mode = "inprocess" if os.environ.get("PULSE_BENCH_INPROCESS") == "1" else "processes"
    async with deployment(mode) as deployed:
        print(
            f"bench_submit: {config.submits} Submits with {CALLERS} callers; "
            f"{deployed.description}; Python {platform.python_version()} on "
            f"{platform.machine()}, {os.cpu_count()} CPUs; load average "
            f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
        )
        await measure(config, deployed)


async def measure(config: Config, deployed: Deployment) -> None:
    urls = deployed.database_urls
    survey_pool = await asyncpg.create_pool(urls["survey"], min_size=1, max_size=2)
    response_pool = await asyncpg.create_pool(urls["response"], min_size=1, max_size=2)
    corr_pool = await asyncpg.create_pool(urls["correlation"], min_size=1, max_size=2)
    bare = grpc.aio.insecure_channel(deployed.floor_address)
    try:
        survey = sgrpc.SurveyServiceStub(deployed.survey)
        await survey_kit.make_org(survey)
        customer = await survey_kit.published_survey(
            survey, types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION, survey_kit.CUSTOMER_ITEMS
        )
        warm = 50
        guess_rate = 400.0
        lag_tokens = int(guess_rate / 2 * config.lag_seconds) + 10
        total = warm + config.submits + config.counted + lag_tokens
        tokens = await tokens_for(survey, customer.survey_id, deployed.data_dir, total)
        submitter = Submitter(rgrpc.ResponseServiceStub(deployed.response), tokens)
        await submitter.show_forms()
        for _ in range(warm):  # channels, caches, prepared statements; the form's version
            await submitter.submit()
        # Phase 1's invitations are still being mailed by the survey service (delivery
        # consumer, templates): that is not a Submit's cost, so it ends before the timing.
        await settled(survey_pool, response_pool, corr_pool)

        async def submit(_: int) -> None:
            await submitter.submit()

        write: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = bare.unary_unary(
            "/bench.Floor/Write"
        )
        echo: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = bare.unary_unary("/bench.Floor/Echo")
        payload = rpb.SubmitRequest(answers=customer_answers()).SerializeToString()

        async def floor_call(_: int) -> None:
            await write(payload, timeout=60)

        async def echo_call(_: int) -> None:
            await echo(payload, timeout=60)

        await with_callers(50, floor_call)  # warm-up

        async def settle() -> None:
            await settled(survey_pool, response_pool, corr_pool)

        load_before = os.getloadavg()[0]
        timed = await paired_rounds(
            config.rounds,
            config.submits // config.rounds,
            submit,
            floor_call,
            settle,
            lambda: cpu_by_process(deployed.pids, deployed.roots),
            lambda: profiling(deployed),
        )
        submit_s = timed.submit_s
        cpu_used = timed.submit_cpu
        cpu_ms = sum(cpu_used.values()) * 1000 / timed.count
        floor_cpu_ms = sum(timed.floor_cpu.values()) * 1000 / timed.count
        echo_s = await with_callers(timed.count, echo_call)
        load_after = os.getloadavg()[0]

        log_file = deployed.pg_log

        async def sequential() -> None:
            for _ in range(config.counted):
                await submitter.submit()

        await settled(survey_pool, response_pool, corr_pool)
        statements = await count_statements(deployed.admin_url, log_file, sequential)
        submit_rate = timed.submit_rate
        lag_rate = min(submit_rate / 2, guess_rate / 2)
        lags = await lag_phase(submitter, corr_pool, lag_rate, config.lag_seconds)
        waits = (
            await employee_wait(
                survey, rgrpc.ResponseServiceStub(deployed.response), corr_pool, deployed.data_dir
            )
            if employee_batching_present()
            else None
        )
    finally:
        await bare.close()
        await survey_pool.close()
        await response_pool.close()
        await corr_pool.close()

    floor_rate, echo_rate = timed.floor_rate, timed.count / echo_s
    print(
        f"Submit, {CALLERS} callers: {submit_rate:.0f}/s ({submit_s:.2f} s; {config.rounds} "
        f"rounds of {timed.count // config.rounds}, each paired with as many floor calls)"
    )
    print(f"floor (one asyncpg transaction, same rows), {CALLERS} callers: {floor_rate:.0f}/s")
    print(f"echo, {CALLERS} callers: {echo_rate:.0f}/s")
    print(
        f"CPU per Submit: {cpu_ms:.1f} ms; per floor call: {floor_cpu_ms:.1f} ms (client, "
        f"services, floor server, PostgreSQL and NATS; {deployed.mode}); load average "
        f"{load_before:.1f} before the Submits, {load_after:.1f} after the echo"
    )
    print(
        "CPU ms per Submit by process: "
        + ", ".join(
            f"{name} {seconds * 1000 / timed.count:.2f}"
            for name, seconds in sorted(cpu_used.items(), key=lambda item: -item[1])
        )
    )
    top = sorted(((n, key) for key, n in statements.items() if "\t" in key), reverse=True)
    statements = Counter({k: n for k, n in statements.items() if "\t" not in k})
    per_submit = {app: n / config.counted for app, n in sorted(statements.items())}
    shown = ", ".join(f"{app} {n:.1f}" for app, n in per_submit.items())
    print(
        f"statements per Submit ({config.counted} one at a time, log_statement=all, with "
        f"relays and the correlation consumer): {sum(per_submit.values()):.1f} ({shown})"
    )
    for n, key in top[:12]:
        app, text = key.split("\t", 1)
        print(f"  {n / config.counted:5.1f}/Submit  {app:<18} {text}")
    ratio(
        "submit_vs_floor",
        submit_rate / floor_rate,
        f"{submit_rate:.0f} vs {floor_rate:.0f}/s; target >= {FLOOR_TARGET}; by round "
        + " ".join(f"{r:.2f}" for r in timed.ratios),
    )
    ratio("submit_vs_echo", submit_rate / echo_rate, f"{submit_rate:.0f} vs {echo_rate:.0f}/s")
    if lags:
        ordered = sorted(lags)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        ratio(
            "lag_p99_ms",
            p99,
            f"{len(lags)} responses at {lag_rate:.0f}/s; p50 "
            f"{statistics.median(ordered):.0f} ms; target < {LAG_TARGET_MS:.0f}",
        )
    else:
        ratio("lag_p99_ms", None, "no response reached the aggregates")
    if waits is None:
        ratio(
            "employee_batch_wait_s",
            None,
            "employee answers are not held for an anonymity batch in this tree",
        )
    elif waits:
        ratio(
            "employee_batch_wait_s",
            statistics.mean(waits),
            f"mean over {len(waits)} of {EMPLOYEES} employees of one team answering "
            f"{EMPLOYEE_SPACING_S} s apart, Submit reply -> counted; max {max(waits):.2f} s; "
            "by design (held until k of the group answered), no target",
        )
    else:
        ratio("employee_batch_wait_s", None, "no employee batch was counted within the wait")


def main(argv: Sequence[str] | None = None) -> int:
    return bench_main(__doc__, run, FULL, QUICK, "fewer calls (under a minute)", argv)


if __name__ == "__main__":
    sys.exit(main())
