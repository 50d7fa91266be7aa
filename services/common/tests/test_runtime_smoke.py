"""A service with no servicer of its own starts, reports SERVING, and stops cleanly."""

from __future__ import annotations

from pulse_common.config import Settings
from pulse_common.grpc_server import check_health
from pulse_common.runtime import ServiceContext, ServiceDefinition, start_service


async def _wire(ctx: ServiceContext) -> None:
    return None


EMPTY = ServiceDefinition("probe", "probe", [], [], _wire)


async def test_service_starts_serving_and_stops(settings: Settings) -> None:
    running = await start_service(EMPTY, settings, "127.0.0.1:0")
    try:
        assert await check_health(running.address, "") == "SERVING"
        tables = await running.context.pool.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'probe'"
        )
        assert {"outbox", "processed_messages", "schema_migrations"} <= {
            r["table_name"] for r in tables
        }
    finally:
        await running.stop(grace_s=0.1)
