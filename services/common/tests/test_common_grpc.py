"""gRPC bootstrap: health, reflection, the domain-error mapping and graceful shutdown."""

from __future__ import annotations

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from pulse_common import errors
from pulse_common.grpc_errors import domain_error_from_rpc
from pulse_common.grpc_server import GrpcServer

SERVICE = "pulse.test.v1.Probe"


def _raising(error: Exception):  # type: ignore[no-untyped-def]
    async def behavior(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        raise error

    return behavior


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.InvalidArgument("answers[2].score", "must be 1..5"), "INVALID_ARGUMENT"),
        (errors.NotFound("no such survey"), "NOT_FOUND"),
        (errors.AlreadyExists("exists"), "ALREADY_EXISTS"),
        (errors.FailedPrecondition("wave closed"), "FAILED_PRECONDITION"),
        (errors.invalid_token(), "UNAUTHENTICATED"),
        (errors.PermissionDenied("outside your scope"), "PERMISSION_DENIED"),
        (errors.ResourceExhausted("slow down"), "RESOURCE_EXHAUSTED"),
        (RuntimeError("secret internals"), "INTERNAL"),
    ],
)
async def test_domain_errors_map_to_status_codes(error: Exception, code: str) -> None:
    server = GrpcServer([SERVICE])
    handler = grpc.method_handlers_generic_handler(
        SERVICE, {"Call": grpc.unary_unary_rpc_method_handler(_raising(error))}
    )
    server.server.add_generic_rpc_handlers((handler,))
    port = server.bind("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
                f"/{SERVICE}/Call"
            )
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call(b"", timeout=5)
        assert caught.value.code().name == code
        if isinstance(error, errors.InvalidArgument):
            mapped = domain_error_from_rpc(caught.value)
            assert isinstance(mapped, errors.InvalidArgument)
            assert mapped.field == "answers[2].score"
            assert "answers[2].score" in (caught.value.details() or "")
        if code == "INTERNAL":
            assert "secret internals" not in (caught.value.details() or "")
    finally:
        await server.stop(0.1)


async def test_health_and_reflection_then_not_serving_on_shutdown() -> None:
    server = GrpcServer([SERVICE])
    port = server.bind("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        reply = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        names = set()
        async for answer in stub.ServerReflectionInfo(iter([request])):
            names |= {s.name for s in answer.list_services_response.service}
        assert {SERVICE, "grpc.health.v1.Health"} <= names
        watch = health.Watch(health_pb2.HealthCheckRequest(service=SERVICE), timeout=10)
        first = await watch.read()
        assert first.status == health_pb2.HealthCheckResponse.SERVING
        await server.health.enter_graceful_shutdown()
        second = await watch.read()
        assert second.status == health_pb2.HealthCheckResponse.NOT_SERVING
        watch.cancel()
    await server.stop(0.1)
