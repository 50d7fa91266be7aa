"""The failover suite's stack and load (``tests/cluster``): ``pulse dev up --cluster``'s own
machinery (three JetStream nodes, a PostgreSQL primary with a synchronous standby, two
instances of each service) on loopback, and a load of employee submits that keeps going
while a test kills something. A respondent whose submit failed retries with the same link
and the same idempotency key (as the web form does), on either response instance."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import grpc.aio
import nats
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse.correlation.v1 import correlation_service_pb2_grpc as corr_grpc
from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse.response.v1 import response_service_pb2_grpc as resp_grpc
from pulse.survey.v1 import survey_service_pb2_grpc as survey_grpc
from pulse_cli import stack
from pulse_cli.cluster_stack import (
    ClusterState,
    instance_env,
    load_cluster,
    nats_cluster_of,
    tools_material,
    up_cluster,
    wait_serving,
)
from pulse_common.config import Settings, load_settings
from pulse_common.embedded import EmbeddedPostgres, pid_alive
from pulse_common.embedded_cluster import NatsCluster, PostgresPair
from pulse_common.grpc_server import open_channel
from pulse_common.subjects import STREAM

from pulse_testing import survey as survey_kit
from pulse_testing.faults.stack import FAULT_ENV
from pulse_testing.response import employee_answers
from pulse_testing.tap import logged_tokens

# Every ``cluster <name>: ...`` line of the session, repeated in pytest's summary
# (tests/cluster/conftest.py), so ``make test-cluster`` shows them without ``-s``.
LINES: list[str] = []


@dataclass
class Tally:
    """What the load saw: ``ok`` submits acknowledged (after retries), ``counted`` by the
    correlation service, ``stored`` rows in the response database."""

    submitted: int = 0
    ok: int = 0
    failures: int = 0
    counted: int = 0
    stored: int = 0
    # Submits still outstanding when the fault struck (0 = the fault missed the load).
    in_flight_at_fault: int = 0
    # Set once ``strike_after`` submits are acknowledged: the moment to strike.
    strike_after: int = 0
    strike: asyncio.Event = field(default_factory=asyncio.Event)

    def line(self, name: str) -> str:
        lost = max(0, self.ok - min(self.counted, self.stored))
        duplicated = max(0, max(self.counted, self.stored) - self.ok)
        return (
            f"cluster {name}: submitted={self.submitted} ok={self.ok} counted={self.counted} "
            f"lost={lost} duplicated={duplicated}"
        )


@dataclass
class ClusterStack:
    data_dir: Path
    env: dict[str, str]
    state: stack.StackState
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    @classmethod
    def up(cls) -> ClusterStack:
        data_dir = Path(tempfile.mkdtemp(prefix="pulse-cluster-")) / "pulse"
        env = {**FAULT_ENV, "PULSE_DATA_DIR": str(data_dir), "PULSE_GRPC_DEADLINE_S": "5"}
        for variable in ("PULSE_DATABASE_URL", "PULSE_NATS_URL"):
            env.pop(variable, None)
        state = up_cluster(load_settings(env), with_web=False, service_env=env)
        return cls(data_dir, env, state)

    def down(self) -> None:
        stack.down(self.data_dir)
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)

    @property
    def settings(self) -> Settings:
        return load_settings({**self.env, **self.state.env()})

    @property
    def cluster(self) -> ClusterState:
        found = load_cluster(self.data_dir)
        assert found is not None
        return found

    @property
    def nats(self) -> NatsCluster:
        return nats_cluster_of(self.data_dir)

    @property
    def postgres(self) -> PostgresPair:
        pair = PostgresPair(self.data_dir / "pg-pair")
        primary_port, standby_port = self.cluster.postgres_ports
        pair.primary = EmbeddedPostgres(pair.primary.data_dir, port=primary_port)
        pair.standby = EmbeddedPostgres(pair.standby.data_dir, port=standby_port)
        return pair

    @property
    def tools_nats_url(self) -> str:
        return self.nats.url

    def channel(self, address: str) -> grpc.aio.Channel:
        tls, tokens = tools_material(self.settings)
        opened = open_channel(address, tls, tokens)
        self.channels.append(opened)
        return opened

    def kill(self, key: str) -> None:
        """SIGKILL one service instance (``response``, ``response-2``, ...)."""
        pid = self.state.pids[key]
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    async def restart(self, key: str, timeout_s: float = 90.0) -> None:
        name, address = self._instance(key)
        base = {**os.environ, **self.env, **self.state.env()}
        stack.start_process(self.state, key, instance_env(base, self.cluster, name, address))
        await wait_serving(self.state, self.settings, timeout_s, keys=[key])

    def _instance(self, key: str) -> tuple[str, str]:
        name, _, number = key.partition("-")
        return name, self.cluster.instances[name][int(number or 1) - 1]

    async def stream_leader(self) -> str:
        nc = await nats.connect(servers=self.tools_nats_url.split(","))
        try:
            info = await nc.jetstream().stream_info(STREAM)
            assert info.cluster is not None
            assert info.cluster.leader
            return info.cluster.leader
        finally:
            await nc.close()

    async def close_channels(self) -> None:
        for opened in self.channels:
            await opened.close()
        self.channels.clear()


async def prepare_wave(cs: ClusterStack, people: int) -> list[str]:
    """An org, a roster of ``people``, a published survey and an open wave: their tokens."""
    survey = survey_grpc.SurveyServiceStub(cs.channel(cs.state.addresses["survey"]))
    await survey_kit.make_org(survey)
    half = people // 2
    await survey_kit.import_roster(survey, survey_kit.rows({"n1": half, "n2": people - half}))
    definition = await survey_kit.published_survey(survey)
    await survey_kit.open_wave(survey, definition.survey_id)
    # The log adapter's output: the delivery stream deletes each invitation once delivered.
    return list((await logged_tokens(cs.data_dir, definition.survey_id, people)).values())


async def submit_all(
    cs: ClusterStack,
    tokens: list[str],
    tally: Tally,
    *,
    workers: int = 6,
    give_up_s: float = 150.0,
) -> None:
    """Submit every token; a failed submit is retried (same token, same key) on the other
    response instance until it is acknowledged or ``give_up_s`` after the load began."""
    stubs = [
        resp_grpc.ResponseServiceStub(cs.channel(address))
        for address in cs.cluster.instances["response"]
    ]
    queue: asyncio.Queue[str] = asyncio.Queue()
    for token in tokens:
        queue.put_nowait(token)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_s  # for the whole load, so a dead path ends it

    async def one(token: str, turn: int) -> None:
        request = resp_pb.SubmitRequest(
            token=token, answers=employee_answers(), idempotency_key=uuid.uuid4().hex
        )
        tally.submitted += 1
        attempt = turn
        while True:
            try:
                await stubs[attempt % len(stubs)].Submit(request, timeout=5)
                tally.ok += 1
                if tally.ok >= tally.strike_after:
                    tally.strike.set()
                return
            except grpc.aio.AioRpcError as error:
                tally.failures += 1
                if error.code() == grpc.StatusCode.INVALID_ARGUMENT or loop.time() > deadline:
                    return  # not acknowledged: never counted as ok
                attempt += 1
                await asyncio.sleep(0.3)

    async def worker(index: int) -> None:
        while not queue.empty():
            await one(queue.get_nowait(), index)

    await asyncio.gather(*(worker(i) for i in range(workers)))
    tally.strike.set()


async def settle(cs: ClusterStack, tally: Tally, timeout_s: float = 90.0) -> None:
    """Wait until the correlation service has counted every acknowledged submit (or the
    time is up), then read the counts once more after a quiet second (doubles show up)."""
    stubs = [
        corr_grpc.CorrelationServiceStub(cs.channel(address))
        for address in cs.cluster.instances["correlation"]
    ]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        for stub in stubs:
            try:
                stats = await stub.GetIngestionStats(corr_pb.GetIngestionStatsRequest(), timeout=3)
                tally.counted = stats.responses_counted
                break
            except grpc.aio.AioRpcError:
                continue
        if tally.counted >= tally.ok or loop.time() > deadline:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(1.0)
    conn = await asyncpg.connect(cs.state.database_url)
    try:
        tally.stored = await conn.fetchval("SELECT count(*) FROM response.responses")
    finally:
        await conn.close()


async def under_load(
    cs: ClusterStack,
    people: int,
    fault: Callable[[], Awaitable[None]],
    *,
    after: int,
) -> Tally:
    """Submit ``people`` responses; run ``fault`` once ``after`` are acknowledged."""
    tokens = await prepare_wave(cs, people)
    tally = Tally(strike_after=after)
    load = asyncio.create_task(submit_all(cs, tokens, tally))
    await tally.strike.wait()
    tally.in_flight_at_fault = len(tokens) - tally.ok
    await fault()
    await load
    await settle(cs, tally)
    return tally
