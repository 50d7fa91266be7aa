"""Plumbing shared by the benchmarks in this folder: the servers they run against
(embedded PostgreSQL and NATS in a temporary folder, or the servers named by
PULSE_DATABASE_URL / PULSE_NATS_URL), bounded publishing, and waiting for a condition.
Loopback only; every loop is bounded in count and time."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import nats
import nats.js.errors
from nats.js import JetStreamContext
from pulse_common import subjects
from pulse_common.embedded import EmbeddedNats, EmbeddedPostgres
from pulse_common.logging_setup import configure_logging
from pulse_common.messaging import publish
from pulse_testing.security import embedded_material, nats_passwords

# In-flight publish acks at a time: enough to saturate loopback, bounded.
PUBLISH_WINDOW = 256


async def publish_all(
    js: JetStreamContext, subject: str, payloads: Sequence[bytes], event_type: str
) -> float:
    """Publish with a bounded window of in-flight acks; returns seconds taken."""
    start = time.perf_counter()
    headers = {"Pulse-Type": event_type}
    for first in range(0, len(payloads), PUBLISH_WINDOW):
        chunk = payloads[first : first + PUBLISH_WINDOW]
        await asyncio.gather(
            *(
                publish(js, subject, data, msg_id=f"{subject}:{uuid.uuid4()}", headers=headers)
                for data in chunk
            )
        )
    return time.perf_counter() - start


async def wait_until(check: Callable[[], Awaitable[bool]], limit_s: float, what: str) -> None:
    deadline = time.perf_counter() + limit_s
    while not await check():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{what} not reached within {limit_s:.0f} s")
        await asyncio.sleep(0.02)


# ---------------------------------------------------------------- infrastructure


@dataclass
class Servers:
    database_url: str
    nats_url: str  # with the tools user's login on the embedded server
    description: str
    # A data directory with the embedded security material (TLS, credentials, NATS users,
    # secrets), the same the test fixtures use: services started on it log in and serve.
    data_dir: str = ""


@asynccontextmanager
async def servers(work_dir: Path) -> AsyncIterator[Servers]:
    """Embedded PostgreSQL and NATS in ``work_dir`` unless PULSE_DATABASE_URL/PULSE_NATS_URL
    name servers to use (then a fresh database is created and dropped)."""
    external_db = os.environ.get("PULSE_DATABASE_URL")
    external_nats = os.environ.get("PULSE_NATS_URL")
    postgres: EmbeddedPostgres | None = None
    nats_server: EmbeddedNats | None = None
    database = f"pulse_bench_{uuid.uuid4().hex[:12]}"
    try:
        if external_db:
            admin_url = external_db
        else:
            postgres = EmbeddedPostgres(work_dir / "pg")
            admin_url = await asyncio.to_thread(postgres.start)
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'CREATE DATABASE "{database}"')
        finally:
            await admin.close()
        if external_nats:
            await _check_empty_stream(external_nats)
            nats_url = external_nats
        else:
            nats_server = EmbeddedNats(work_dir / "nats", passwords=nats_passwords())
            await asyncio.to_thread(nats_server.start)
            nats_url = nats_server.url
        description = (
            f"PostgreSQL {'PULSE_DATABASE_URL' if external_db else 'embedded'}, "
            f"NATS {'PULSE_NATS_URL' if external_nats else 'embedded'}"
        )
        url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{database}"))
        data_dir = work_dir / "data"
        shutil.copytree(embedded_material(), data_dir, dirs_exist_ok=True)
        yield Servers(url, nats_url, description, str(data_dir))
    finally:
        if external_db:
            with suppress(Exception):
                admin = await asyncpg.connect(external_db)
                try:
                    await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                finally:
                    await admin.close()
        if nats_server is not None:
            nats_server.stop()
        if postgres is not None:
            postgres.stop(mode="immediate")


async def _check_empty_stream(url: str) -> None:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().stream_info(subjects.STREAM)
    except nats.js.errors.NotFoundError:
        return
    finally:
        await nc.close()
    if info.state.messages:
        raise RuntimeError(
            f"PULSE_NATS_URL holds a {subjects.STREAM} stream with {info.state.messages} "
            "messages; the benchmark needs an empty server (unset PULSE_NATS_URL to use an "
            "embedded one)"
        )


Config = TypeVar("Config")


def bench_main(
    doc: str | None,
    run: Callable[[Config, int], Coroutine[Any, Any, None]],
    full: Config,
    quick: Config,
    quick_help: str,
    argv: Sequence[str] | None = None,
) -> int:
    """The command line every benchmark shares: ``--quick``, ``--seed``, quiet logs, timing."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--seed", type=int, default=20260101)
    args = parser.parse_args(argv)
    configure_logging("bench", "WARNING", json_output=False)
    logging.getLogger("pulse_common").setLevel(logging.ERROR)
    started = time.perf_counter()
    asyncio.run(run(quick if args.quick else full, args.seed))
    print(f"\ndone in {time.perf_counter() - started:.1f} s")
    return 0
