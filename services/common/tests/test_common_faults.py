"""The building blocks the fault suite (tests/faults) relies on, each against real servers:
health that follows its probes (a frozen probe counts as failed), a consumer that rides out
a dependency's outage instead of dead-lettering, replays claimed as the message they
replay, database trouble reported as retryable, and an unimplemented method as
UNIMPLEMENTED (never INTERNAL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import grpc.aio
import pytest
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pulse.events.v1 import events_pb2
from pulse_common import errors, subjects
from pulse_common.db import create_pool
from pulse_common.grpc_server import GrpcServer, check_health
from pulse_common.health import HealthMonitor, Probe
from pulse_common.messaging import (
    REPLAY_OF_HEADER,
    ConsumerLoop,
    ConsumerSpec,
    connect_nats,
    decode,
    ensure_stream,
    message_id,
    publish,
    publish_event,
)
from pulse_common.uow import Database

SERVICE = "pulse.test.v1.Probe"


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await connect_nats(nats_url, "test")
    context = nc.jetstream()
    await ensure_stream(context)
    yield context
    await nc.close()


class Switch:
    """A probe whose answer the test sets: healthy, failing, or never answering."""

    def __init__(self) -> None:
        self.state = "ok"

    async def check(self) -> str | None:
        if self.state == "hang":
            await asyncio.Event().wait()
        return None if self.state == "ok" else "switched off"


async def statuses(port: int) -> tuple[str, str]:
    address = f"127.0.0.1:{port}"
    return await check_health(address, SERVICE), await check_health(address, "")


async def test_health_follows_its_probes_and_a_frozen_probe_fails() -> None:
    server = GrpcServer([SERVICE])
    port = server.bind("127.0.0.1:0")
    await server.start()
    switch = Switch()
    failed = asyncio.Event()
    monitor = HealthMonitor(
        [Probe("dependency", switch.check)],
        server.set_ready,
        failed,
        service="probe",
        interval_s=0.05,
        timeout_s=0.2,
    )
    try:
        assert await monitor.evaluate()
        assert await statuses(port) == ("SERVING", "SERVING")
        switch.state = "failing"
        assert not await monitor.evaluate()
        # Readiness says NOT_SERVING; liveness ("") stays SERVING: no restart for an outage.
        assert await statuses(port) == ("NOT_SERVING", "SERVING")
        switch.state = "ok"
        assert await monitor.evaluate()
        assert await statuses(port) == ("SERVING", "SERVING")
        switch.state = "hang"  # a frozen database: the probe never returns
        started = asyncio.get_running_loop().time()
        assert not await monitor.evaluate()
        assert asyncio.get_running_loop().time() - started < 1.0
        assert monitor.problems == {"dependency": "no answer within 0.2 s"}
        switch.state = "ok"  # the stuck probe is awaited again, never started twice
        assert not await monitor.evaluate()
        failed.set()  # a background task died: NOT_SERVING whatever the probes say
        assert not await monitor.evaluate()
        assert "process" in monitor.problems
    finally:
        monitor.stop()
        await server.stop(0.1)


async def test_a_dependency_outage_is_retried_past_max_deliver_not_dead_lettered(
    js: JetStreamContext,
) -> None:
    attempts = 0

    async def handler(msg: Msg) -> None:
        nonlocal attempts
        attempts += 1
        if attempts <= 4:  # the database is restarting
            raise errors.Unavailable("the database is unavailable; try again")

    spec = ConsumerSpec(
        "test-outage", (subjects.WAVE_CLOSED,), max_deliver=2, nak_backoff_s=(0.05,), ack_wait_s=5
    )
    loop = ConsumerLoop(js, spec, handler)
    task = asyncio.create_task(loop.run())
    try:
        await publish_event(
            js, subjects.WAVE_CLOSED, events_pb2.WaveClosed(wave_id="w"), msg_id="outage"
        )
        async with asyncio.timeout(15):
            while loop.handled < 1:
                await asyncio.sleep(0.05)
    finally:
        loop.stop()
        await task
    assert attempts == 5  # well past max_deliver = 2
    assert loop.dead_lettered == 0


async def test_a_replay_is_claimed_as_the_message_it_replays(js: JetStreamContext) -> None:
    seen: list[str] = []

    async def handler(msg: Msg) -> None:
        decode(msg, events_pb2.WaveClosed)
        seen.append(message_id(msg))

    loop = ConsumerLoop(js, ConsumerSpec("test-replay", (subjects.WAVE_CLOSED,)), handler)
    task = asyncio.create_task(loop.run())
    try:
        payload = events_pb2.WaveClosed(wave_id="w").SerializeToString()
        await publish(js, subjects.WAVE_CLOSED, payload, msg_id="original-1")
        await publish(
            js,
            subjects.WAVE_CLOSED,
            payload,
            msg_id="replay:original-1",
            headers={REPLAY_OF_HEADER: "original-1"},
        )
        async with asyncio.timeout(10):
            while len(seen) < 2:
                await asyncio.sleep(0.05)
    finally:
        loop.stop()
        await task
    assert seen == ["original-1", "original-1"]


async def _locked_out(db: Database) -> None:
    async with db.unit_of_work() as uow:
        await uow.conn.execute("SET LOCAL lock_timeout = 50")
        await uow.conn.execute("LOCK TABLE faults.t IN ACCESS EXCLUSIVE MODE")


async def _too_slow(db: Database) -> None:
    async with db.unit_of_work() as uow:
        await uow.conn.execute("SET LOCAL statement_timeout = 50")
        await uow.conn.execute("SELECT pg_sleep(1)")


async def _read_cut_short(db: Database) -> None:
    async with db.connection() as conn:
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        reading = asyncio.create_task(conn.execute("SELECT pg_sleep(5)"))
        await asyncio.sleep(0.1)
        async with db.connection() as other:
            await other.execute("SELECT pg_terminate_backend($1)", pid)
        await reading


async def test_a_busy_or_slow_database_is_retryable_not_internal(database_url: str) -> None:
    pool = await create_pool(database_url, "faults")
    db = Database(pool)
    try:
        async with db.unit_of_work() as uow:
            await uow.conn.execute("CREATE SCHEMA IF NOT EXISTS faults")
            await uow.conn.execute("CREATE TABLE IF NOT EXISTS faults.t (n int)")
        holder = await pool.acquire()
        try:
            async with holder.transaction():
                await holder.execute("LOCK TABLE faults.t IN ACCESS EXCLUSIVE MODE")
                with pytest.raises(errors.Unavailable, match="busy"):
                    await _locked_out(db)
        finally:
            await pool.release(holder)
        with pytest.raises(errors.DeadlineExceeded):
            await _too_slow(db)
        # The server ends a session in the middle of a read (a restart): the read fails
        # as UNAVAILABLE, and the release that then fails on the dead connection is the
        # pool's business; it used to replace UNAVAILABLE with a raw (INTERNAL) error.
        for _ in range(3):
            with pytest.raises(errors.Unavailable):
                await _read_cut_short(db)
        async with db.connection() as conn:
            assert await conn.fetchval("SELECT 1") == 1
    finally:
        await pool.close()


async def test_an_unimplemented_method_is_unimplemented_not_internal() -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    server = GrpcServer([SERVICE])

    class Unfinished(health_pb2_grpc.HealthServicer):  # type: ignore[misc]  # generated: NotImplemented
        pass

    generic = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Check": grpc.unary_unary_rpc_method_handler(
                Unfinished().Check,
                request_deserializer=health_pb2.HealthCheckRequest.FromString,
                response_serializer=health_pb2.HealthCheckResponse.SerializeToString,
            )
        },
    )
    server.server.add_generic_rpc_handlers((generic,))
    port = server.bind("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary(
                f"/{SERVICE}/Check",
                request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                response_deserializer=health_pb2.HealthCheckResponse.FromString,
            )
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call(health_pb2.HealthCheckRequest(), timeout=5)
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        await server.stop(0.1)


async def test_a_call_the_server_cancelled_is_retryable_for_the_client() -> None:
    """A shutdown whose grace runs out cancels calls in flight: the client (which never
    cancels its own calls) reads CANCELLED as UNAVAILABLE and sends again with its key."""
    from grpc_health.v1 import health_pb2
    from pulse_common.grpc_errors import domain_error_from_rpc

    async def cancelled(request: object, context: grpc.aio.ServicerContext[object, object]) -> None:
        await context.abort(grpc.StatusCode.CANCELLED, "server shutting down")

    server = grpc.aio.server()
    generic = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Check": grpc.unary_unary_rpc_method_handler(
                cancelled,
                request_deserializer=health_pb2.HealthCheckRequest.FromString,
                response_serializer=health_pb2.HealthCheckResponse.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((generic,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary(
                f"/{SERVICE}/Check",
                request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                response_deserializer=health_pb2.HealthCheckResponse.FromString,
            )
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call(health_pb2.HealthCheckRequest(), timeout=5)
        assert caught.value.code() == grpc.StatusCode.CANCELLED
        assert isinstance(domain_error_from_rpc(caught.value), errors.Unavailable)
    finally:
        await server.stop(0.1)
