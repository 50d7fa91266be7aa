"""Where ``bench_submit.py`` runs the services and the floor (not a test).

* ``processes`` (the default): as deployed. ``pulse dev up``'s machinery starts embedded
  PostgreSQL and NATS and every service as a process of its own, each service with its own
  database (issue 13); the floor and echo servers run in one more process
  (``floor_server.py``), so both sides of the ratio pay for their own processes and share
  the same cores the same way.
* ``inprocess`` (``PULSE_BENCH_INPROCESS=1``): the services, the floor and the client in
  the bench process (``inprocess_stack``), one database: how the numbers were taken before.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import grpc
from floor_server import Floor, make_floor_tables
from harness import servers
from pulse_correlation.app import DEFINITION as CORRELATION
from pulse_response.app import DEFINITION as RESPONSE
from pulse_survey.app import DEFINITION as SURVEY
from pulse_testing.faults import spawn
from pulse_testing.security import tools_channel
from pulse_testing.stack import inprocess_stack, settings_for_tests

# The settings of the services in both modes.
BENCH_ENV = {
    "PULSE_WAVE_SCHEDULER_INTERVAL_S": "0",
    "PULSE_RESPONSE_SUBMITS_PER_MINUTE": "1000000",
    # Production's anonymity batching (the survey's k), not the tests' 1.
    "PULSE_ANSWER_BATCH_K": "0",
    "PULSE_LOG_LEVEL": "WARNING",
}
# Passed on to the service processes from this process's environment: the event loop
# (``uvloop``, ``asyncio``) and the signal profiler's folder (``pulse_common.event_loop``).
PASSED_ON = ("PULSE_EVENT_LOOP", "PULSE_PROFILE_DIR")


@dataclass
class Deployment:
    mode: str
    description: str
    survey: grpc.aio.Channel
    response: grpc.aio.Channel
    floor_address: str
    nats_url: str  # as the tools user
    data_dir: str  # the services' PULSE_DATA_DIR (the survey's delivery log)
    admin_url: str  # superuser, for ALTER SYSTEM
    database_urls: dict[str, str]  # schema -> superuser URL of the database holding it
    pg_log: Path
    # CPU is summed over these processes (by name) and their children.
    pids: dict[str, int] = field(default_factory=dict)
    roots: list[str] = field(default_factory=list)  # and processes naming these paths


def _with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


@contextlib.asynccontextmanager
async def deployment(mode: str) -> AsyncIterator[Deployment]:
    manager = _processes() if mode == "processes" else _inprocess()
    async with manager as deployed:
        try:
            yield deployed
        finally:
            await deployed.survey.close()
            await deployed.response.close()


@contextlib.asynccontextmanager
async def _inprocess() -> AsyncIterator[Deployment]:
    work_dir = Path(tempfile.mkdtemp(prefix="pulse-bench-"))
    try:
        async with servers(work_dir) as infra:
            settings = settings_for_tests(
                infra.database_url, infra.nats_url, PULSE_DATA_DIR=infra.data_dir, **BENCH_ENV
            )
            async with inprocess_stack(settings, [SURVEY, RESPONSE, CORRELATION]) as stack:
                await make_floor_tables(infra.database_url)
                pool = await asyncpg.create_pool(infra.database_url, min_size=4, max_size=10)
                floor = Floor(pool)
                address = await floor.start()
                log = await asyncio.to_thread(lambda: next(work_dir.glob("pg/**/postgres.log")))
                try:
                    yield Deployment(
                        mode="inprocess",
                        description=f"{infra.description}; services, floor and client in "
                        "this process",
                        survey=tools_channel(stack.address("survey")),
                        response=tools_channel(stack.address("response")),
                        floor_address=address,
                        nats_url=infra.nats_url,
                        data_dir=infra.data_dir,
                        admin_url=infra.database_url,
                        database_urls=dict.fromkeys(
                            ("survey", "response", "correlation"), infra.database_url
                        ),
                        pg_log=log,
                        pids={"client and services": os.getpid()},
                        roots=[str(work_dir)],
                    )
                finally:
                    await floor.server.stop(0.2)
                    await pool.close()
    finally:
        import shutil

        shutil.rmtree(work_dir, ignore_errors=True)


@contextlib.asynccontextmanager
async def _processes() -> AsyncIterator[Deployment]:
    from pulse_testing.faults.stack import FaultStack

    env = {**BENCH_ENV, **{k: os.environ[k] for k in PASSED_ON if k in os.environ}}
    stack = await asyncio.to_thread(FaultStack.up, env, with_web=False)
    floor_pid = 0
    try:
        state = stack.state
        urls = {
            schema: _with_path(state.database_url, urlsplit(state.stores[schema]).path)
            if schema in state.stores
            else state.database_url
            for schema in ("survey", "response", "correlation")
        }
        await make_floor_tables(urls["response"])
        port_file = stack.work_dir / "floor.address"
        floor_pid = spawn.spawn(
            [
                sys.executable,
                str(Path(__file__).with_name("floor_server.py")),
                urls["response"],
                str(port_file),
            ],
            os.environ,
            stack.work_dir / "floor.log",
        )
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the floor server did not start: see {port_file}.log")
            await asyncio.sleep(0.05)
        yield Deployment(
            mode="processes",
            description="PostgreSQL and NATS embedded; survey, response, correlation, the "
            "floor server and this client each a process (pulse dev up)",
            survey=stack.channel("survey"),
            response=stack.channel("response"),
            floor_address=port_file.read_text(),
            nats_url=stack.nats_url,
            data_dir=state.data_dir,
            admin_url=state.database_url,
            database_urls=urls,
            pg_log=Path(state.data_dir) / "pg" / "postgres.log",
            pids={"client": os.getpid(), "floor": floor_pid, **state.pids},
            roots=[state.data_dir],
        )
    finally:
        if floor_pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(floor_pid, signal.SIGTERM)
            await asyncio.to_thread(spawn.wait, floor_pid, 5)
        await asyncio.to_thread(stack.down)
