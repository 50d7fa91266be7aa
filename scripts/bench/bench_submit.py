#!/usr/bin/env python3
"""Benchmark: how close is a customer Submit to the floor of its durable writes? (not a test)

Servers: embedded PostgreSQL and NATS (harness.py); the survey, response and correlation
services in this process (``inprocess_stack``, mTLS and caller tokens as in production),
and two bare grpc.aio servers on 127.0.0.1 in this process too:

* floor: its handler does one asyncpg transaction writing the rows a customer Submit
  writes (a response, its 3 scores, an outbox row) into copies of those tables in the same
  PostgreSQL (schema ``floor``, so nothing is relayed);
* echo: its handler returns the request.

Phases (same run; client and servers share this process, as they share the 2 cores):

1. tokens     customer interactions recorded (``RecordInteraction``, 32 at once), their
              link tokens read from the delivery stream.
2. submit     Submit of 3 scored answers with C = 32 callers: Submits/s; CPU ms per
              Submit = (this process + the PostgreSQL and NATS processes' CPU) / Submits.
3. floor/echo the same count of calls with 32 callers: floor calls/s, echo calls/s.
4. statements ``log_statement = all`` for S Submits one at a time, then a pause for the
              relays and the correlation consumer: statements per Submit counted from the
              server log by application (``pulse-<schema>``; includes relays and consumers;
              a statement is at most one round trip, ``executemany`` counts per row).
5. lag        Submits paced at half the measured Submit rate for a few seconds; per
              response, time from its Submit reply (accepted) to its ledger row in the
              correlation service (counted in the aggregates), polled every 10 ms.

Prints ``ratio submit_vs_floor`` (target >= 0.5), ``ratio submit_vs_echo`` (informational),
``ratio lag_p99_ms`` (target < 1000) and ``ratio employee_batch_wait_s`` (n/a until the
response service holds employee answers for an anonymity batch).

Usage: bench_submit.py [--quick] [--seed S]   (--quick: fewer calls, under a minute)
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import grpc
from harness import bench_main, ratio, servers
from pulse.events.v1 import events_pb2
from pulse.response.v1 import response_service_pb2 as rpb
from pulse.response.v1 import response_service_pb2_grpc as rgrpc
from pulse.survey.v1 import survey_service_pb2 as spb
from pulse.survey.v1 import survey_service_pb2_grpc as sgrpc
from pulse.types.v1 import types_pb2
from pulse_common.subjects import INVITATION_ISSUED
from pulse_correlation.app import DEFINITION as CORRELATION
from pulse_response.app import DEFINITION as RESPONSE
from pulse_survey.app import DEFINITION as SURVEY
from pulse_testing import survey as survey_kit
from pulse_testing.security import tools_channel
from pulse_testing.stack import inprocess_stack, settings_for_tests, stream_messages

CALLERS = 32
FLOOR_TARGET = 0.5
LAG_TARGET_MS = 1000.0


@dataclass(frozen=True)
class Config:
    submits: int  # timed at C = 32
    counted: int  # one at a time under log_statement
    lag_seconds: float


FULL = Config(submits=1500, counted=20, lag_seconds=8.0)
QUICK = Config(submits=300, counted=10, lag_seconds=3.0)


# ---------------------------------------------------------------- floor and echo


class Floor:
    """The bare servers: ``/bench.Floor/Write`` and ``/bench.Floor/Echo`` on raw bytes."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.server = grpc.aio.server()

    async def write(self, request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        response_id = uuid.uuid4()
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO floor.responses (response_id, survey_id, survey_version, kind,"
                " unit_id, period, wave_id, channel, source, batch_id)"
                " VALUES ($1, 's', 1, 2, 'n1', '2026-01', '', 'call', 'live', '')",
                response_id,
            )
            await conn.executemany(
                "INSERT INTO floor.response_scores (response_id, item_id, score)"
                " VALUES ($1, $2, $3)",
                [(response_id, item, 4) for item in ("csat.1", "nps.1", "staff.1")],
            )
            await conn.execute(
                "INSERT INTO floor.outbox (msg_id, subject, payload, headers)"
                " VALUES ($1, 'pulse.response.recorded', $2, '{}'::jsonb)",
                str(response_id),
                request,
            )
        return str(response_id).encode()

    async def echo(self, request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        return request

    async def start(self) -> str:
        handler = grpc.method_handlers_generic_handler(
            "bench.Floor",
            {
                "Write": grpc.unary_unary_rpc_method_handler(self.write),
                "Echo": grpc.unary_unary_rpc_method_handler(self.echo),
            },
        )
        self.server.add_generic_rpc_handlers((handler,))
        port = self.server.add_insecure_port("127.0.0.1:0")
        await self.server.start()
        return f"127.0.0.1:{port}"


async def make_floor_tables(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("CREATE SCHEMA floor")
        for table in ("responses", "response_scores", "outbox"):
            await conn.execute(f"CREATE TABLE floor.{table} (LIKE response.{table} INCLUDING ALL)")
    finally:
        await conn.close()


# ---------------------------------------------------------------- load


async def with_callers(count: int, call: Callable[[int], Awaitable[None]]) -> float:
    """``count`` calls by ``CALLERS`` concurrent callers; seconds taken."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)

    async def caller() -> None:
        while not queue.empty():
            await call(queue.get_nowait())

    start = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(CALLERS)))
    return time.perf_counter() - start


def cpu_seconds(root: Path) -> float:
    """User + system CPU of this process and of every process whose command line names
    ``root`` (the embedded servers), with their children (PostgreSQL backends)."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}  # pid -> (ppid, seconds)
    named: set[int] = {os.getpid()}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
        if str(root) in cmdline:
            named.add(int(entry.name))
    return sum(sec for pid, (ppid, sec) in stats.items() if pid in named or ppid in named)


def customer_answers() -> list[types_pb2.Answer]:
    return [
        types_pb2.Answer(item_id="csat.1", score=4),
        types_pb2.Answer(item_id="nps.1", score=9),
        types_pb2.Answer(item_id="staff.1", score=4),
    ]


class Submitter:
    def __init__(self, stub: rgrpc.ResponseServiceAsyncStub, tokens: list[str]) -> None:
        self.stub = stub
        self.tokens = tokens
        self.used = 0

    def next_token(self) -> str:
        token = self.tokens[self.used]
        self.used += 1
        return token

    async def submit(self) -> str:
        reply = await self.stub.Submit(
            rpb.SubmitRequest(
                token=self.next_token(),
                answers=customer_answers(),
                idempotency_key=uuid.uuid4().hex,
                client_id=uuid.uuid4().hex[:12],
            ),
            timeout=60,
        )
        return str(reply.response_id)


# ---------------------------------------------------------------- phases


async def tokens_for(
    survey: sgrpc.SurveyServiceAsyncStub, survey_id: str, nats_url: str, count: int
) -> list[str]:
    async def record(_: int) -> None:
        await survey.RecordInteraction(
            spb.RecordInteractionRequest(
                interaction=spb.Interaction(
                    interaction_id=f"i-{uuid.uuid4().hex[:16]}",
                    unit_id="n1",
                    occurred_at=datetime.now(UTC).isoformat(timespec="seconds"),
                    channel="store",
                    customer_contact=f"c{uuid.uuid4().hex[:10]}@example.com",
                ),
                survey_id=survey_id,
            ),
            timeout=60,
        )

    await with_callers(count, record)
    found = await stream_messages(nats_url, INVITATION_ISSUED, count, timeout_s=180)
    tokens = []
    for _, data in found:
        event = events_pb2.InvitationIssued()
        event.ParseFromString(data)
        if not event.reminder:
            tokens.append(event.token)
    if len(tokens) < count:
        raise RuntimeError(f"only {len(tokens)} of {count} invitations were issued")
    return tokens


async def count_statements(
    admin_url: str, log_file: Path, run: Callable[[], Awaitable[None]]
) -> Counter[str]:
    """Statements logged per application while ``run`` runs (and the pipeline settles)."""
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute("ALTER SYSTEM SET log_statement = 'all'")
        await admin.execute("ALTER SYSTEM SET log_line_prefix = '@%a@ '")
        await admin.execute("SELECT pg_reload_conf()")
        await asyncio.sleep(0.5)
        offset = await asyncio.to_thread(lambda: log_file.stat().st_size)
        await run()
        await asyncio.sleep(2.0)  # relays and the correlation consumer finish
        await admin.execute("ALTER SYSTEM RESET log_statement")
        await admin.execute("SELECT pg_reload_conf()")
    finally:
        await admin.close()
    return await asyncio.to_thread(statements_by_app, log_file, offset)


def statements_by_app(log_file: Path, offset: int) -> Counter[str]:
    """Per application, and per (application, statement start) for the top lines."""
    counted: Counter[str] = Counter()
    with open(log_file, errors="replace") as log:
        log.seek(offset)
        for line in log:
            if line.startswith("@") and ("LOG:  statement:" in line or "LOG:  execute" in line):
                app = line[1 : line.index("@", 1)]
                if app.startswith("pulse-"):
                    counted[app] += 1
                    text = line.split(": ", 2)[-1].strip()[:70]
                    counted[f"{app}\t{text}"] += 1
    return counted


async def lag_phase(
    submitter: Submitter, corr_pool: asyncpg.Pool, rate: float, seconds: float
) -> list[float]:
    """Submits paced at ``rate``/s; ms from each reply (the response accepted) to its
    ledger row in correlation (counted in the aggregates)."""
    sent: dict[str, float] = {}
    lags: list[float] = []
    interval = 1.0 / rate
    count = int(rate * seconds)

    async def one() -> None:
        response_id = await submitter.submit()
        sent[f"response:{response_id}"] = time.perf_counter()  # accepted: the reply came

    async def watch() -> None:
        deadline = time.perf_counter() + seconds + 30
        while (len(lags) < count) and time.perf_counter() < deadline:
            waiting = list(sent)
            if waiting:
                rows = await corr_pool.fetch(
                    "SELECT msg_id FROM correlation.processed_messages"
                    " WHERE msg_id = ANY($1::text[])",
                    waiting,
                )
                now = time.perf_counter()
                for row in rows:
                    lags.append((now - sent.pop(row["msg_id"])) * 1000)
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    calls = []
    start = time.perf_counter()
    for index in range(count):
        await asyncio.sleep(max(0.0, start + index * interval - time.perf_counter()))
        calls.append(asyncio.create_task(one()))
    await asyncio.gather(*calls)
    await watcher
    return lags


async def settled(pool: asyncpg.Pool) -> None:
    """Wait (up to 60 s) until the services' consumers and relays are idle: the survey's
    delivery log consumer works through the invitations of phase 1 for a while."""
    query = (
        "SELECT (SELECT count(*) FROM survey.processed_messages)"
        " + (SELECT count(*) FROM response.outbox) + (SELECT count(*) FROM survey.outbox)"
    )
    last, stable_since = None, time.perf_counter()
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline:
        now = await pool.fetchval(query)
        if now != last:
            last, stable_since = now, time.perf_counter()
        elif time.perf_counter() - stable_since > 1.5:
            return
        await asyncio.sleep(0.2)


def employee_batching_present() -> bool:
    """Whether the response service holds employee answers for an anonymity batch."""
    import importlib.util

    return importlib.util.find_spec("pulse_response.holding") is not None


EMPLOYEES = 10  # in one team: two batches of k = 5
EMPLOYEE_SPACING_S = 0.3


async def employee_wait(
    survey: sgrpc.SurveyServiceAsyncStub,
    response: rgrpc.ResponseServiceAsyncStub,
    corr_pool: asyncpg.Pool,
    nats_url: str,
) -> list[float]:
    """Employees of one team answer one after another, ``EMPLOYEE_SPACING_S`` apart; the
    aggregates' employee count is polled every 10 ms. Each batch's responses are counted
    together (their order is shuffled, so they are matched by arrival rank): per response,
    the seconds from its Submit reply to its batch being counted."""
    await survey_kit.import_roster(survey, survey_kit.rows({"n2": EMPLOYEES}))
    employee = await survey_kit.published_survey(survey)
    await survey_kit.open_wave(survey, employee.survey_id, audience="n2")
    found = await stream_messages(nats_url, INVITATION_ISSUED, 0, timeout_s=30)
    tokens = []
    for _, data in found:
        event = events_pb2.InvitationIssued()
        event.ParseFromString(data)
        if event.kind == types_pb2.SURVEY_KIND_EMPLOYEE_PULSE and not event.reminder:
            tokens.append(event.token)
    replied: list[float] = []
    seen: list[tuple[float, int]] = []

    async def count() -> int:
        value = await corr_pool.fetchval(
            "SELECT coalesce(sum(n), 0) FROM correlation.agg_population"
            " WHERE population = 'employee'"
        )
        return int(value)

    base = await count()

    async def watch() -> None:
        last = base
        deadline = time.perf_counter() + EMPLOYEES * EMPLOYEE_SPACING_S + 30
        while last - base < EMPLOYEES and time.perf_counter() < deadline:
            now = await count()
            if now != last:
                seen.append((time.perf_counter(), now - base))
                last = now
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    for token in tokens[:EMPLOYEES]:
        await response.Submit(
            rpb.SubmitRequest(
                token=token,
                answers=[
                    types_pb2.Answer(item_id="rec.1", score=4),
                    types_pb2.Answer(item_id="fair.1", score=3),
                    types_pb2.Answer(item_id="enps.1", score=8),
                ],
                idempotency_key=uuid.uuid4().hex,
                client_id=uuid.uuid4().hex[:12],
            ),
            timeout=60,
        )
        replied.append(time.perf_counter())
        await asyncio.sleep(EMPLOYEE_SPACING_S)
    await watcher
    waits = []
    for rank, at in enumerate(replied, start=1):
        counted = next((t for t, total in seen if total >= rank), None)
        if counted is not None:
            waits.append(counted - at)
    return waits


# ---------------------------------------------------------------- run


async def run(config: Config, seed: int) -> None:
    random.seed(seed)
    work_dir = Path(tempfile.mkdtemp(prefix="pulse-bench-"))
    try:
        async with servers(work_dir) as infra:
            settings = settings_for_tests(
                infra.database_url,
                infra.nats_url,
                PULSE_DATA_DIR=infra.data_dir,
                PULSE_WAVE_SCHEDULER_INTERVAL_S="0",
                PULSE_RESPONSE_SUBMITS_PER_MINUTE="1000000",
                # Production's anonymity batching (the survey's k), not the tests' 1.
                PULSE_ANSWER_BATCH_K="0",
                PULSE_LOG_LEVEL="WARNING",
            )
            async with inprocess_stack(settings, [SURVEY, RESPONSE, CORRELATION]) as stack:
                await make_floor_tables(infra.database_url)
                print(
                    f"bench_submit: {config.submits} Submits with {CALLERS} callers; "
                    f"{infra.description}; Python {platform.python_version()} on "
                    f"{platform.machine()}, {os.cpu_count()} CPUs; load average "
                    f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
                )
                await measure(config, stack, infra.database_url, infra.nats_url, work_dir)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


async def measure(
    config: Config, stack: object, database_url: str, nats_url: str, work_dir: Path
) -> None:
    from pulse_testing.stack import InProcessStack

    assert isinstance(stack, InProcessStack)
    survey_channel = tools_channel(stack.address("survey"))
    response_channel = tools_channel(stack.address("response"))
    floor_pool = await asyncpg.create_pool(database_url, min_size=4, max_size=10)
    corr_pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    floor = Floor(floor_pool)
    floor_address = await floor.start()
    bare = grpc.aio.insecure_channel(floor_address)
    try:
        survey = sgrpc.SurveyServiceStub(survey_channel)
        await survey_kit.make_org(survey)
        customer = await survey_kit.published_survey(
            survey, types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION, survey_kit.CUSTOMER_ITEMS
        )
        warm = 50
        guess_rate = 400.0
        lag_tokens = int(guess_rate / 2 * config.lag_seconds) + 10
        total = warm + config.submits + config.counted + lag_tokens
        tokens = await tokens_for(survey, customer.survey_id, nats_url, total)
        submitter = Submitter(rgrpc.ResponseServiceStub(response_channel), tokens)
        for _ in range(warm):  # channels, caches, prepared statements; the form's version
            await submitter.submit()

        async def submit(_: int) -> None:
            await submitter.submit()

        cpu_before = cpu_seconds(work_dir)
        submit_s = await with_callers(config.submits, submit)
        cpu_ms = (cpu_seconds(work_dir) - cpu_before) * 1000 / config.submits
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
        floor_s = await with_callers(config.submits, floor_call)
        echo_s = await with_callers(config.submits, echo_call)

        log_file = await asyncio.to_thread(lambda: next(work_dir.glob("pg/**/postgres.log")))

        async def sequential() -> None:
            for _ in range(config.counted):
                await submitter.submit()

        await settled(corr_pool)
        statements = await count_statements(database_url, log_file, sequential)
        submit_rate = config.submits / submit_s
        lag_rate = min(submit_rate / 2, guess_rate / 2)
        lags = await lag_phase(submitter, corr_pool, lag_rate, config.lag_seconds)
        waits = (
            await employee_wait(
                survey, rgrpc.ResponseServiceStub(response_channel), corr_pool, nats_url
            )
            if employee_batching_present()
            else None
        )
    finally:
        await bare.close()
        await floor.server.stop(0.2)
        await floor_pool.close()
        await corr_pool.close()
        await survey_channel.close()
        await response_channel.close()

    floor_rate, echo_rate = config.submits / floor_s, config.submits / echo_s
    print(f"Submit, {CALLERS} callers: {submit_rate:.0f}/s ({submit_s:.2f} s)")
    print(f"floor (one asyncpg transaction, same rows), {CALLERS} callers: {floor_rate:.0f}/s")
    print(f"echo, {CALLERS} callers: {echo_rate:.0f}/s")
    print(
        f"CPU per Submit: {cpu_ms:.1f} ms (this process with the three services and the "
        "client, PostgreSQL and NATS)"
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
        f"{submit_rate:.0f} vs {floor_rate:.0f}/s; target >= {FLOOR_TARGET}",
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
