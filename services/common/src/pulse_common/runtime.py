"""Lifecycle of one service process: settings -> pool + migrations -> NATS + stream ->
outbox relay -> gRPC server with health -> consumers; and the reverse on SIGTERM.

A service describes itself with ``ServiceDefinition``; ``start_service`` runs it inside the
current event loop (tests host several services in one loop this way), and
``run_service_main`` is the process entry point used by each ``__main__``."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from pulse_common.auth import issuers_path
from pulse_common.config import ConfigError, Settings, load_settings
from pulse_common.db import Migration, apply_migrations, create_pool, load_migrations
from pulse_common.event_loop import install_profiler, settle_heap
from pulse_common.event_loop import run as run_loop
from pulse_common.grpc_auth import AuthInterceptor
from pulse_common.grpc_server import GrpcServer
from pulse_common.health import HealthMonitor, consumer_probe, database_probe, nats_probe
from pulse_common.issuers import IssuerRegistry
from pulse_common.logging_setup import configure_logging
from pulse_common.messaging import ConsumerLoop, connect_nats, ensure_stream
from pulse_common.nats_auth import credentials, inbox_prefix
from pulse_common.outbox import OutboxRelay
from pulse_common.tls import TlsMaterial, load_tls

log = logging.getLogger(__name__)

# A probe (the database's ``SELECT 1``...) that does not answer within this is a failure.
HEALTH_PROBE_TIMEOUT_S = 3.0


@dataclass
class ServiceContext:
    """What a service's wiring code gets to build its servicer and consumers."""

    name: str
    settings: Settings
    pool: asyncpg.Pool
    nats: NatsClient
    js: JetStreamContext
    relay: OutboxRelay
    grpc: GrpcServer
    consumers: list[ConsumerLoop] = field(default_factory=list)
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # The service's own certificate: it serves with it and presents it to other services.
    tls: TlsMaterial | None = None


Wire = Callable[[ServiceContext], Awaitable[None]]


@dataclass(frozen=True)
class ServiceDefinition:
    """``wire`` registers the servicer on ``ctx.grpc.server`` and appends consumers."""

    name: str
    schema: str
    grpc_service_names: Sequence[str]
    migration_packages: Sequence[str]
    wire: Wire

    def migrations(self) -> list[Migration]:
        found: list[Migration] = load_migrations("pulse_common")
        for package in self.migration_packages:
            found.extend(load_migrations(package))
        return found


@dataclass
class RunningService:
    context: ServiceContext
    port: int
    tasks: list[asyncio.Task[None]]
    # Set when a background task (relay, consumer, job) ended on its own: the process is
    # no longer whole, so health says NOT_SERVING and the process exits non-zero.
    failed: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: bool = False
    # Probes the database, NATS and the consumers; sets readiness (see pulse_common.health).
    monitor: HealthMonitor | None = None

    def supervise(self) -> None:
        for task in self.tasks:
            task.add_done_callback(self._task_ended)

    def _task_ended(self, task: asyncio.Task[None]) -> None:
        if self.stopping:
            return
        error = None if task.cancelled() else task.exception()
        log.error(
            "background task %s ended unexpectedly: %s",
            task.get_name(),
            error or "returned",
            exc_info=error,
            extra={"service": self.context.name},
        )
        self.failed.set()
        asyncio.get_running_loop().create_task(self.context.grpc.set_not_serving())

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def stop(self, grace_s: float | None = None, drain_s: float = 0.0) -> None:
        self.stopping = True
        ctx = self.context
        grace = ctx.settings.shutdown_grace_s if grace_s is None else grace_s
        if self.monitor is not None:
            self.monitor.stop()
        await ctx.grpc.stop(grace, drain_s)
        for consumer in ctx.consumers:
            consumer.stop()
        ctx.relay.stop()
        done, pending = await asyncio.wait(self.tasks, timeout=max(grace, 1.0))
        for task in pending:
            task.cancel()
        for task in [*done, *pending]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for hook in ctx.on_stop:
            with contextlib.suppress(Exception):
                await hook()
        with contextlib.suppress(Exception):
            await ctx.nats.drain()
        await ctx.pool.close()


def _require(value: str | None, variable: str) -> str:
    if value is None:
        raise ConfigError(
            f"{variable} is not set: start the stack with `pulse dev up`, or set {variable}"
        )
    return value


async def start_service(
    definition: ServiceDefinition, settings: Settings, bind_address: str | None = None
) -> RunningService:
    """Start ``definition`` in the running loop; ``bind_address`` overrides the configured
    address (``127.0.0.1:0`` picks a free port)."""
    # A service's own store (issue 13: a database and role per service) wins over the shared
    # URL: PULSE_SURVEY_DATABASE_URL, PULSE_RESPONSE_DATABASE_URL, ...
    own_store = settings.extra.get(f"PULSE_{definition.name.upper()}_DATABASE_URL")
    database_url = _require(own_store or settings.database_url, "PULSE_DATABASE_URL")
    _require(settings.nats_url, "PULSE_NATS_URL")
    _require(settings.hmac_secret or None, "PULSE_HMAC_SECRET")
    tls, auth = _security(definition, settings)
    login = credentials(settings, definition.name)
    pool = await _create_pool_waiting(definition, settings, database_url)
    try:
        await apply_migrations(pool, definition.schema, definition.migrations())
        nc = await connect_nats(
            settings.nats_servers,
            f"pulse-{definition.name}",
            connect_timeout_s=settings.startup_timeout_s,
            user=login[0] if login else "",
            password=login[1] if login else "",
            inbox_prefix=inbox_prefix(login[0]) if login else "",
        )
    except BaseException:
        await pool.close()
        raise
    try:
        js = nc.jetstream()
        await ensure_stream(js, settings.stream_replicas)
        grpc_server = GrpcServer(definition.grpc_service_names, tls=tls, auth=auth)
        port = grpc_server.bind(bind_address or settings.address_of(definition.name))
        if settings.health_addr:
            grpc_server.bind_health(settings.health_addr)
        ctx = ServiceContext(
            name=definition.name,
            settings=settings,
            pool=pool,
            nats=nc,
            js=js,
            relay=OutboxRelay(pool, js),
            grpc=grpc_server,
            tls=tls,
        )
        await definition.wire(ctx)
        for consumer in ctx.consumers:
            consumer.spec = dataclasses.replace(consumer.spec, ack_wait_s=settings.ack_wait_s)
    except BaseException:
        # A wiring or configuration error must not leak connections (tests start many).
        await nc.close()
        await pool.close()
        raise
    tasks = [asyncio.create_task(ctx.relay.run(), name=f"{definition.name}-outbox")]
    tasks += [
        asyncio.create_task(c.run(), name=f"{definition.name}-{c.spec.durable}")
        for c in ctx.consumers
    ]
    tasks += [asyncio.create_task(job(), name=f"{definition.name}-bg") for job in ctx.background]
    await grpc_server.start()
    log.info("service started", extra={"service": definition.name, "port": port})
    running = RunningService(ctx, port, tasks)
    running.monitor = HealthMonitor(
        [database_probe(pool), nats_probe(nc)]
        + [consumer_probe(consumer) for consumer in ctx.consumers],
        grpc_server.set_ready,
        running.failed,
        service=definition.name,
        timeout_s=HEALTH_PROBE_TIMEOUT_S,
    )
    tasks.append(asyncio.create_task(running.monitor.run(), name=f"{definition.name}-health"))
    running.supervise()
    return running


def _security(
    definition: ServiceDefinition, settings: Settings
) -> tuple[TlsMaterial, AuthInterceptor]:
    """The service's TLS material and the caller checks of its port; ``ConfigError`` names
    what is missing (a service never serves without them)."""
    tls = load_tls(settings, definition.name)
    path = issuers_path(settings)
    if not path.exists():
        raise ConfigError(
            f"no trusted issuers file at {path}: set PULSE_AUTH_ISSUERS_FILE, or start the "
            "embedded stack with `pulse dev up`, which creates it"
        )
    return tls, AuthInterceptor(IssuerRegistry(path))


async def _create_pool_waiting(
    definition: ServiceDefinition, settings: Settings, database_url: str
) -> asyncpg.Pool:
    """The pool, waiting for PostgreSQL up to ``startup_timeout_s`` with a log line per try,
    then ``ConnectionError`` (a service started before its database says so, not hangs)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.startup_timeout_s
    while True:
        try:
            return await create_pool(
                database_url,
                definition.schema,
                statement_timeout_ms=settings.db_statement_timeout_ms,
                lock_timeout_ms=settings.db_lock_timeout_ms,
                max_size=settings.db_pool_max,
            )
        except (OSError, asyncpg.exceptions.CannotConnectNowError) as error:
            if loop.time() > deadline:
                raise ConnectionError(
                    f"cannot reach PostgreSQL after {settings.startup_timeout_s:.0f} s: {error}"
                ) from error
            log.warning("waiting for PostgreSQL: %s", error or type(error).__name__)
            await asyncio.sleep(1.0)


async def _serve_until_signal(definition: ServiceDefinition, settings: Settings) -> None:
    running = await start_service(definition, settings)
    settle_heap()
    install_profiler(settings.extra, definition.name)
    print(f"{definition.name} listening on {running.address}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    signalled = asyncio.ensure_future(stop.wait())
    failed = asyncio.ensure_future(running.failed.wait())
    await asyncio.wait((signalled, failed), return_when=asyncio.FIRST_COMPLETED)
    signalled.cancel()
    failed.cancel()
    log.info("shutting down", extra={"service": definition.name})
    await running.stop(drain_s=min(1.0, settings.shutdown_grace_s))
    if running.failed.is_set():
        raise SystemExit(f"pulse-{definition.name}: a background task failed; see the log")


def run_service_main(definition: ServiceDefinition) -> None:
    """Process entry point: validate configuration (exit 2 with the variable named), log,
    serve until SIGTERM/SIGINT."""
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"pulse-{definition.name}: configuration error: {error.message}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(definition.name, settings.log_level, settings.log_json)
    try:
        run_loop(_serve_until_signal(definition, settings), settings.extra)
    except ConfigError as error:
        print(f"pulse-{definition.name}: configuration error: {error.message}", file=sys.stderr)
        raise SystemExit(2) from None
    except ConnectionError as error:
        print(f"pulse-{definition.name}: {error}", file=sys.stderr)
        raise SystemExit(1) from None
