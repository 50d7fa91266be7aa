"""The phases of ``bench_submit.py`` (not a test): customer tokens, the Submitter, statement
counting from the server log, the lag and employee-batch phases, and profiling of the
services during the timed Submits."""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from pulse.response.v1 import response_service_pb2 as rpb
from pulse.response.v1 import response_service_pb2_grpc as rgrpc
from pulse.survey.v1 import survey_service_pb2 as spb
from pulse.survey.v1 import survey_service_pb2_grpc as sgrpc
from pulse.types.v1 import types_pb2
from pulse_survey.delivery_log import LOG_NAME
from pulse_testing import survey as survey_kit
from submit_rounds import with_callers
from submit_stack import Deployment

# ---------------------------------------------------------------- load


def customer_answers() -> list[types_pb2.Answer]:
    return [
        types_pb2.Answer(item_id="csat.1", score=4),
        types_pb2.Answer(item_id="nps.1", score=9),
        types_pb2.Answer(item_id="staff.1", score=4),
    ]


class Submitter:
    """Submits as a browser does after the form was shown: with the form's sealed grant
    (``GetForm`` of every token is called before the timed Submits, as the form is rendered
    before it is sent)."""

    def __init__(self, stub: rgrpc.ResponseServiceAsyncStub, tokens: list[str]) -> None:
        self.stub = stub
        self.tokens = tokens
        self.used = 0
        self.grants: dict[str, bytes] = {}

    async def show_forms(self) -> None:
        async def show(index: int) -> None:
            token = self.tokens[index]
            form = await self.stub.GetForm(rpb.GetFormRequest(token=token), timeout=60)
            self.grants[token] = form.form_grant

        await with_callers(len(self.tokens), show)

    def next_token(self) -> str:
        token = self.tokens[self.used]
        self.used += 1
        return token

    async def submit(self) -> str:
        token = self.next_token()
        reply = await self.stub.Submit(
            rpb.SubmitRequest(
                token=token,
                form_grant=self.grants.get(token, b""),
                answers=customer_answers(),
                idempotency_key=uuid.uuid4().hex,
                client_id=uuid.uuid4().hex[:12],
            ),
            timeout=60,
        )
        return str(reply.response_id)


# ---------------------------------------------------------------- phases


async def tokens_for(
    survey: sgrpc.SurveyServiceAsyncStub, survey_id: str, data_dir: str, count: int
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
    return await delivered_tokens(data_dir, survey_id, count, timeout_s=180)


async def delivered_tokens(
    data_dir: str, survey_id: str, count: int, timeout_s: float
) -> list[str]:
    """Tokens of the first ``count`` invitations to ``survey_id``, read from the survey
    service's delivery log (the delivery stream is erased once delivered)."""
    log = Path(data_dir) / LOG_NAME
    deadline = time.perf_counter() + timeout_s
    while True:
        found: dict[str, str] = {}
        text = await asyncio.to_thread(lambda: log.read_text() if log.exists() else "")
        for line in text.splitlines():
            parts = line.split("\t")
            if len(parts) >= 5 and parts[3] == survey_id and parts[4] == "invitation":
                found.setdefault(parts[1], parts[2].rsplit("/s/", 1)[1])
        if len(found) >= count:
            return list(found.values())[:count]
        if time.perf_counter() > deadline:
            raise RuntimeError(f"only {len(found)} of {count} invitations were delivered")
        await asyncio.sleep(0.3)


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


async def settled(
    survey_pool: asyncpg.Pool, response_pool: asyncpg.Pool, corr_pool: asyncpg.Pool
) -> None:
    """Wait (up to 60 s) until the services' consumers and relays are idle: the survey's
    delivery log consumer works through the invitations of phase 1 for a while, the
    correlation service through the responses of the timed Submits."""
    last, stable_since = None, time.perf_counter()
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline:
        now = (
            await survey_pool.fetchval(
                "SELECT (SELECT count(*) FROM survey.processed_messages)"
                " + (SELECT count(*) FROM survey.outbox)"
            ),
            await response_pool.fetchval("SELECT count(*) FROM response.outbox"),
            await corr_pool.fetchval("SELECT count(*) FROM correlation.processed_messages"),
        )
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
    data_dir: str,
) -> list[float]:
    """Employees of one team answer one after another, ``EMPLOYEE_SPACING_S`` apart; the
    aggregates' employee count is polled every 10 ms. Each batch's responses are counted
    together (their order is shuffled, so they are matched by arrival rank): per response,
    the seconds from its Submit reply to its batch being counted."""
    await survey_kit.import_roster(survey, survey_kit.rows({"n2": EMPLOYEES}))
    employee = await survey_kit.published_survey(survey)
    await survey_kit.open_wave(survey, employee.survey_id, audience="n2")
    tokens = await delivered_tokens(data_dir, employee.survey_id, EMPLOYEES, timeout_s=60)
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


def profile_services(deployed: Deployment, which: signal.Signals) -> None:
    """With ``PULSE_PROFILE_DIR``, resume (SIGUSR1) or pause and write (SIGUSR2) the
    services' profiles (``pulse_common.event_loop``)."""
    if deployed.mode != "processes" or not os.environ.get("PULSE_PROFILE_DIR"):
        return
    for name in ("survey", "response", "correlation"):
        if name in deployed.pids:
            os.kill(deployed.pids[name], which)


_client_profile: list[cProfile.Profile] = []


@contextlib.asynccontextmanager
async def profiling(deployed: Deployment) -> AsyncIterator[None]:
    """Around each timed Submit phase: ``PULSE_BENCH_PROFILE`` (this process, one file
    over all phases) and ``PULSE_PROFILE_DIR`` (the services)."""
    target = os.environ.get("PULSE_BENCH_PROFILE")
    if target and not _client_profile:
        _client_profile.append(cProfile.Profile())
    profile_services(deployed, signal.SIGUSR1)
    if _client_profile:
        _client_profile[0].enable()
    try:
        yield
    finally:
        if _client_profile:
            _client_profile[0].disable()
            _client_profile[0].dump_stats(str(target))
        profile_services(deployed, signal.SIGUSR2)
