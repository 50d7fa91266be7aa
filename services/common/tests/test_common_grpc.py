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


async def test_field_violation_travels_as_standard_bad_request_detail() -> None:
    """Any gRPC client (not only Pulse's) can read the field from google.rpc.BadRequest."""
    from google.rpc import error_details_pb2, status_pb2

    server = GrpcServer([SERVICE])
    error = errors.InvalidArgument("answers[0].score", "must be 1 to 5")
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
    finally:
        await server.stop(0.1)
    raw = dict(caught.value.trailing_metadata() or ())["grpc-status-details-bin"]
    assert isinstance(raw, bytes)
    status = status_pb2.Status.FromString(raw)
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    assert [(v.field, v.description) for v in bad.field_violations] == [
        ("answers[0].score", "must be 1 to 5")
    ]
    mapped = domain_error_from_rpc(caught.value)
    assert isinstance(mapped, errors.InvalidArgument)
    assert (mapped.field, mapped.description) == ("answers[0].score", "must be 1 to 5")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (grpc.StatusCode.UNAVAILABLE, errors.Unavailable),
        (grpc.StatusCode.DEADLINE_EXCEEDED, errors.DeadlineExceeded),
    ],
)
async def test_client_mapper_tells_timeouts_from_unreachable(
    code: grpc.StatusCode, expected: type[errors.DomainError]
) -> None:
    async def behavior(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        await context.abort(code, "nope")
        raise AssertionError("unreachable")

    server = GrpcServer([SERVICE])
    handler = grpc.method_handlers_generic_handler(
        SERVICE, {"Call": grpc.unary_unary_rpc_method_handler(behavior)}
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
    finally:
        await server.stop(0.1)
    mapped = domain_error_from_rpc(caught.value)
    assert type(mapped) is expected
    assert isinstance(mapped, errors.RetryableError)


async def test_undecodable_request_bytes_are_invalid_argument_not_unknown() -> None:
    server = GrpcServer([SERVICE])
    port = server.bind("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            raw: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
                "/grpc.health.v1.Health/Check"
            )
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await raw(b"\xff\xff\xff\xff", timeout=5)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "HealthCheckRequest" in (caught.value.details() or "")
            health = health_pb2_grpc.HealthStub(channel)
            reply = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await server.stop(0.1)
