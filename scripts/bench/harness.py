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
import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pulse.types.v1 import types_pb2
from pulse_common import subjects
from pulse_common.embedded import EmbeddedNats, EmbeddedPostgres
from pulse_common.logging_setup import configure_logging
from pulse_common.messaging import publish
from pulse_testing.correlation import publish_org, publish_surveys
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


async def consume_all(js: JetStreamContext, subject: str, count: int, durable: str) -> float:
    """Raw pull-consume and ack ``count`` messages of ``subject`` with a durable consumer
    (fetches of 64, as the services' loops); returns seconds from the first fetch."""
    await js.add_consumer(
        subjects.STREAM,
        config=ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            filter_subject=subject,
            max_ack_pending=10_000,
        ),
    )
    sub = await js.pull_subscribe_bind(durable=durable, stream=subjects.STREAM)
    start = time.perf_counter()
    got = 0
    deadline = start + 300
    try:
        while got < count and time.perf_counter() < deadline:
            try:
                batch = await sub.fetch(64, timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            for msg in batch:
                await msg.ack()
            got += len(batch)
        return time.perf_counter() - start
    finally:
        await sub.unsubscribe()
        with suppress(Exception):
            await js.delete_consumer(subjects.STREAM, durable)


async def publish_consume_all(
    js: JetStreamContext, subject: str, payloads: Sequence[bytes], event_type: str
) -> float:
    """Raw JetStream round: publish ``payloads`` (bounded window) while a durable pull
    consumer fetches and acks them; seconds until the last is acked."""
    durable = f"bench-raw-{uuid.uuid4().hex[:8]}"
    consumer = asyncio.create_task(consume_all(js, subject, len(payloads), durable))
    start = time.perf_counter()
    await asyncio.sleep(0.2)  # the consumer exists before the first publish
    await publish_all(js, subject, payloads, event_type)
    await consumer
    return time.perf_counter() - start - 0.2


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


def ratio(name: str, value: float | None, detail: str = "") -> None:
    """The one machine-readable line of a benchmark: ``ratio <name> <value>``."""
    shown = "n/a" if value is None else f"{value:.3f}"
    print(f"ratio {name} {shown}")
    if detail:
        print(f"  ({name}: {detail})")


def consumer_summary(consumers: Sequence[Any], durable: str) -> str:
    """How a service's loops of ``durable`` handled their messages (batches vs one by one)."""
    loops = [c for c in consumers if c.spec.durable == durable]
    handled = sum(c.handled for c in loops)
    batches = sum(c.batches_committed for c in loops)
    fallbacks = sum(c.batch_fallbacks for c in loops)
    errors = {c.last_batch_error for c in loops if c.last_batch_error}
    return (
        f"{durable}: {handled} messages handled by {len(loops)} loops, {batches} batches "
        f"committed whole, {fallbacks} handled one by one"
        + (f" (last batch error: {'; '.join(sorted(errors))})" if errors else "")
    )


async def publish_regions(
    js: JetStreamContext,
    units: Sequence[str],
    surveys: Sequence[types_pb2.SurveyDefinition],
    valid_from: str,
) -> int:
    """The benchmarks' org (a root, two regions, ``units`` alternating between them) and the
    survey versions they answer, as the survey service announces them; how many units."""
    org = [("ROOT", ""), ("north", "ROOT"), ("south", "ROOT")]
    org += [(u, "north" if i % 2 else "south") for i, u in enumerate(units)]
    await publish_org(js, org, valid_from)
    await publish_surveys(js, surveys)
    return len(org)
