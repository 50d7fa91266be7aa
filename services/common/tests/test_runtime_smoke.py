"""A service with no servicer of its own starts, reports SERVING, and stops cleanly."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from pulse_common.config import ConfigError, Settings
from pulse_common.grpc_server import check_health
from pulse_common.runtime import ServiceContext, ServiceDefinition, start_service
from pulse_common.tls import ensure_embedded_tls
from pulse_testing.security import tls_of


async def _wire(ctx: ServiceContext) -> None:
    return None


EMPTY = ServiceDefinition("probe", "probe", [], [], _wire)


@pytest.fixture(autouse=True)
def probe_certificates(settings: Settings) -> None:
    """The probes serve with certificates of the test CA, as any service does."""
    ensure_embedded_tls(settings.data_dir, ["probe", "probe2"])


async def health(address: str) -> str:
    return await check_health(address, "", tls=tls_of())


async def test_service_starts_serving_and_stops(settings: Settings) -> None:
    running = await start_service(EMPTY, settings, "127.0.0.1:0")
    try:
        assert await health(running.address) == "SERVING"
        tables = await running.context.pool.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'probe'"
        )
        assert {"outbox", "processed_messages", "schema_migrations"} <= {
            r["table_name"] for r in tables
        }
    finally:
        await running.stop(grace_s=0.1)


async def _wire_failing_job(ctx: ServiceContext) -> None:
    async def job() -> None:
        await asyncio.sleep(0.2)
        raise RuntimeError("consumer crashed")

    ctx.background.append(job)


async def test_a_background_task_that_dies_flips_health_to_not_serving(
    settings: Settings,
) -> None:
    definition = ServiceDefinition("probe2", "probe2", [], [], _wire_failing_job)
    running = await start_service(definition, settings, "127.0.0.1:0")
    try:
        assert await health(running.address) == "SERVING"
        await asyncio.wait_for(running.failed.wait(), timeout=10)
        for _ in range(50):
            if await health(running.address) == "NOT_SERVING":
                break
            await asyncio.sleep(0.05)
        assert await health(running.address) == "NOT_SERVING"
    finally:
        await running.stop(grace_s=0.1)


async def test_start_fails_with_a_clear_message_when_nats_is_down(settings: Settings) -> None:
    down = dataclasses.replace(settings, nats_url="nats://127.0.0.1:1", startup_timeout_s=1.0)
    started = asyncio.get_running_loop().time()
    with pytest.raises(ConnectionError, match=r"cannot reach NATS at nats://127\.0\.0\.1:1"):
        await start_service(EMPTY, down, "127.0.0.1:0")
    assert asyncio.get_running_loop().time() - started < 10


async def test_a_service_never_serves_without_certificate_and_trusted_issuers(
    settings: Settings, tmp_path: Path
) -> None:
    bare = dataclasses.replace(settings, data_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="PULSE_TLS_DIR"):
        await start_service(EMPTY, bare, "127.0.0.1:0")
    ensure_embedded_tls(tmp_path, ["probe"])
    with pytest.raises(ConfigError, match="PULSE_AUTH_ISSUERS_FILE"):
        await start_service(EMPTY, bare, "127.0.0.1:0")
