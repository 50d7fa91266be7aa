"""pytest plugin (registered by the root conftest): real PostgreSQL and NATS for every test,
through the same embedded mechanism as ``pulse dev up`` (or the servers named by
``PULSE_DATABASE_URL`` / ``PULSE_NATS_URL``). Nothing here is a mock."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import grpc.aio
import nats
import nats.errors
import nats.js.errors
import pytest
from pulse_common import subjects
from pulse_common.config import Settings, load_settings
from pulse_common.embedded import EmbeddedNats, EmbeddedPostgres
from pulse_common.grpc_errors import FIELD_METADATA_KEY
from pulse_common.runtime import RunningService, ServiceDefinition, start_service
from pulse_common.subjects import DELIVERY_STREAM, STREAM

from pulse_testing.security import embedded_material, nats_passwords
from pulse_testing.security import tools_channel as tools_channel
from pulse_testing.tap import invitation_tap, tap_for


@dataclass
class Infrastructure:
    admin_database_url: str
    external_nats_url: str | None
    work_dir: Path
    postgres: EmbeddedPostgres | None


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def pulse_infra() -> Iterator[Infrastructure]:
    work_dir = Path(tempfile.mkdtemp(prefix="pulse-test-"))
    external_db = os.environ.get("PULSE_DATABASE_URL")
    postgres = None
    if external_db:
        admin_url = external_db
    else:
        postgres = EmbeddedPostgres(work_dir / "pg")
        admin_url = postgres.start()
    try:
        yield Infrastructure(admin_url, os.environ.get("PULSE_NATS_URL"), work_dir, postgres)
    finally:
        if postgres is not None:
            postgres.stop(mode="immediate")
        shutil.rmtree(work_dir, ignore_errors=True)


@pytest.fixture
async def database_url(pulse_infra: Infrastructure) -> AsyncIterator[str]:
    """A fresh, empty database for one test (dropped afterwards)."""
    name = f"pulse_t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(pulse_infra.admin_database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield with_database(pulse_infra.admin_database_url, name)
    admin = await asyncpg.connect(pulse_infra.admin_database_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def embedded_nats(pulse_infra: Infrastructure) -> Iterator[EmbeddedNats]:
    """A private nats-server for one test: tests may stop and restart it."""
    server = EmbeddedNats(
        pulse_infra.work_dir / f"nats-{uuid.uuid4().hex[:8]}", passwords=nats_passwords()
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def nats_url(pulse_infra: Infrastructure, request: pytest.FixtureRequest) -> str:
    """A NATS server with no PULSE stream: the external one emptied, or a private one."""
    if pulse_infra.external_nats_url:
        nc = await nats.connect(pulse_infra.external_nats_url)
        try:
            for stream in (STREAM, DELIVERY_STREAM):
                with suppress(nats.js.errors.NotFoundError):
                    await nc.jetstream().delete_stream(stream)
        finally:
            await nc.close()
        return pulse_infra.external_nats_url
    server: EmbeddedNats = request.getfixturevalue("embedded_nats")
    return server.url


def settings_for_tests(database_url: str, nats_url: str, **overrides: str) -> Settings:
    """Settings of a test's services. The data directory (a private one unless overridden)
    gets the session's embedded security material: TLS, credentials, NATS users, secrets."""
    data_dir = overrides.get("PULSE_DATA_DIR") or tempfile.mkdtemp(prefix="pulse-test-data-")
    shutil.copytree(embedded_material(), data_dir, dirs_exist_ok=True)
    env = {
        # Files services write (e.g. the invitation log) go to a private folder.
        "PULSE_DATA_DIR": data_dir,
        "PULSE_DATABASE_URL": database_url,
        "PULSE_NATS_URL": nats_url,
        "PULSE_SURVEY_ADDR": "127.0.0.1:0",
        "PULSE_RESPONSE_ADDR": "127.0.0.1:0",
        "PULSE_CORRELATION_ADDR": "127.0.0.1:0",
        "PULSE_WEB_ADDR": "127.0.0.1:0",
        "PULSE_SHUTDOWN_GRACE_S": "0.5",
        "PULSE_LOG_FORMAT": "text",
        # Employee answers are written at once (batches of 1) unless a test asks for the
        # real batching (PULSE_ANSWER_BATCH_K=0: the survey's k), as tests/anonymity does.
        "PULSE_ANSWER_BATCH_K": "1",
        **overrides,
    }
    return load_settings(env)


@pytest.fixture
def settings(database_url: str, nats_url: str) -> Settings:
    return settings_for_tests(database_url, nats_url)


def with_health(settings: Settings, address: str) -> Settings:
    """``settings`` with the plaintext health-only port (PULSE_HEALTH_ADDR) at ``address``."""
    return dataclasses.replace(settings, health_addr=address)


def with_address(settings: Settings, service: str, address: str) -> Settings:
    """``settings`` with the gRPC address of ``service`` replaced."""
    addresses = {
        "survey": settings.survey_addr,
        "response": settings.response_addr,
        "correlation": settings.correlation_addr,
        "web": settings.web_addr,
    }
    addresses[service] = address
    return dataclasses.replace(
        settings,
        survey_addr=addresses["survey"],
        response_addr=addresses["response"],
        correlation_addr=addresses["correlation"],
        web_addr=addresses["web"],
    )


@dataclass
class InProcessStack:
    """Services started in the test's event loop, each on its own free port."""

    settings: Settings
    services: dict[str, RunningService]

    def address(self, name: str) -> str:
        return self.services[name].address

    async def restart(self, name: str, definition: ServiceDefinition) -> RunningService:
        await self.services[name].stop(grace_s=0.5)
        running = await start_service(definition, self.settings, self.address(name))
        self.services[name] = running
        return running


@asynccontextmanager
async def inprocess_stack(
    settings: Settings, definitions: Sequence[ServiceDefinition]
) -> AsyncIterator[InProcessStack]:
    """Start ``definitions`` in order; each later service learns the earlier addresses.
    With a survey service, an invitation tap (``pulse_testing.tap``) listens from before
    it starts."""
    stack = InProcessStack(settings, {})
    async with AsyncExitStack() as taps:
        if any(d.name == "survey" for d in definitions) and settings.nats_url:
            await taps.enter_async_context(invitation_tap(settings.nats_url))
        async with _started(stack, definitions):
            yield stack


@asynccontextmanager
async def _started(
    stack: InProcessStack, definitions: Sequence[ServiceDefinition]
) -> AsyncIterator[None]:
    try:
        for definition in definitions:
            running = await start_service(definition, stack.settings, "127.0.0.1:0")
            stack.services[definition.name] = running
            stack.settings = with_address(stack.settings, definition.name, running.address)
            for other in stack.services.values():
                other.context.settings = stack.settings
        yield
    finally:
        for running in reversed(list(stack.services.values())):
            await running.stop(grace_s=0.2)


async def rpc_error(call: Awaitable[object]) -> grpc.aio.AioRpcError:
    """Await a call that must fail and return its error."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error
    raise AssertionError("the call succeeded")


def field_of(error: grpc.aio.AioRpcError) -> str:
    """The field an INVALID_ARGUMENT names (trailing metadata ``pulse-field``)."""
    for key, value in error.trailing_metadata() or ():
        if key == FIELD_METADATA_KEY:
            return str(value)
    return ""


async def stream_messages(
    nats_url: str, subject: str, at_least: int = 0, timeout_s: float = 10.0
) -> list[tuple[str, bytes]]:
    """(Nats-Msg-Id, payload) of every message on ``subject`` in its stream, waiting
    until ``at_least`` are there, then draining what else is already stored (so tests can
    assert exact counts). Invitations come from the stack's tap (``pulse_testing.tap``):
    the delivery stream deletes each once it is delivered."""
    tap = tap_for(nats_url) if subject == subjects.INVITATION_ISSUED else None
    if tap is not None:
        return await tap.messages(at_least, timeout_s)
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(
            subject, durable=f"t{uuid.uuid4().hex[:8]}", stream=subjects.stream_of(subject)
        )
        found: list[tuple[str, bytes]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            try:
                batch = await sub.fetch(1000, timeout=0.3)
            except (TimeoutError, nats.errors.TimeoutError):
                batch = []
            for msg in batch:
                found.append(((msg.headers or {}).get("Nats-Msg-Id", ""), msg.data))
                await msg.ack()
            if not batch and (len(found) >= at_least or loop.time() > deadline):
                return found
    finally:
        await nc.close()
