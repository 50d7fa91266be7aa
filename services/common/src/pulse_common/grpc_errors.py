"""The one mapping between domain errors and gRPC statuses (DESIGN §4): a server interceptor
applies it to every servicer, and ``domain_error_from_rpc`` is its inverse for every client
(CLI, web, service-to-service).

Field errors travel as grpc's standard rich status (``google.rpc.Status`` with a
``google.rpc.BadRequest`` detail, as in grpc's ``examples/python/errors``), which any gRPC
client can read; the ``pulse-field`` trailer is kept for Pulse clients built before it."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import grpc.aio
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from pulse_common import errors

log = logging.getLogger(__name__)

STATUS_OF: tuple[tuple[type[errors.DomainError], grpc.StatusCode], ...] = (
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (errors.ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
    (errors.DeadlineExceeded, grpc.StatusCode.DEADLINE_EXCEEDED),
)

FIELD_METADATA_KEY = "pulse-field"  # deprecated: read google.rpc.BadRequest instead
STATUS_DETAILS_KEY = "grpc-status-details-bin"


def status_for(error: errors.DomainError) -> grpc.StatusCode:
    for error_type, code in STATUS_OF:
        if isinstance(error, error_type):
            return code
    return grpc.StatusCode.UNKNOWN


def bad_request_trailers(
    code: grpc.StatusCode, field: str, description: str, message: str
) -> tuple[tuple[str, str | bytes], ...]:
    """Trailing metadata carrying a ``google.rpc.Status`` with one field violation."""
    detail = any_pb2.Any()
    detail.Pack(
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=field, description=description)
            ]
        )
    )
    status = status_pb2.Status(code=code.value[0], message=message, details=[detail])
    return ((STATUS_DETAILS_KEY, status.SerializeToString()), (FIELD_METADATA_KEY, field))


async def abort_with(context: grpc.aio.ServicerContext[Any, Any], error: Exception) -> None:
    """Abort the call with the status of ``error`` (INTERNAL, logged, for anything else)."""
    if isinstance(error, errors.InvalidArgument):
        code = grpc.StatusCode.INVALID_ARGUMENT
        trailers = bad_request_trailers(code, error.field, error.description, error.message)
        await context.abort(code, error.message, trailers)
    if isinstance(error, errors.DomainError):
        await context.abort(status_for(error), error.message)
    if isinstance(error, NotImplementedError):  # a generated servicer's default method
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this method is not implemented")
    log.exception("unexpected error in handler", exc_info=error)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error; the operator can see the log")


class _Undecodable:
    """What the lenient deserializer yields for bytes that are not the request message."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def error(self) -> errors.InvalidArgument:
        return errors.InvalidArgument(
            "request", f"is not a valid {self.type_name} message (text fields must be UTF-8)"
        )


def _lenient(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """Raw bytes that do not parse become INVALID_ARGUMENT instead of grpc's UNKNOWN."""
    if deserializer is None:
        return None
    owner = getattr(deserializer, "__self__", None)
    type_name = getattr(owner, "__name__", "request")

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception:
            return _Undecodable(type_name)

    return deserialize


async def _checked(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        if isinstance(request, _Undecodable):
            raise request.error()
        yield request


def _request(request: Any) -> Any:
    if isinstance(request, _Undecodable):
        raise request.error()
    if hasattr(request, "__aiter__"):  # a client stream: check each message as it comes
        return _checked(request)
    return request


def _wrap_unary(behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def wrapper(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            return await behavior(_request(request), context)
        except grpc.aio.AbortError:
            raise
        except Exception as error:
            await abort_with(context, error)

    return wrapper


def _wrap_stream_response(
    behavior: Callable[..., AsyncIterator[Any]],
) -> Callable[..., AsyncIterator[Any]]:
    async def wrapper(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            result: Any = behavior(_request(request), context)
            if inspect.isasyncgen(result):
                async for item in result:
                    yield item
            else:  # handlers that write with context.write() are plain coroutines
                await result
        except grpc.aio.AbortError:
            raise
        except Exception as error:
            await abort_with(context, error)

    return wrapper


def with_domain_errors(handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
    """``handler`` with its errors mapped as ``DomainErrorInterceptor`` says (built once per
    method by ``grpc_auth.CheckedCalls``, per call by the interceptor)."""
    common = {
        "request_deserializer": _lenient(handler.request_deserializer),
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(_wrap_unary(handler.unary_unary), **common)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(_wrap_unary(handler.stream_unary), **common)
    if handler.unary_stream:
        behavior: Any = handler.unary_stream  # aio handlers are async generators
        return grpc.unary_stream_rpc_method_handler(_wrap_stream_response(behavior), **common)
    if handler.stream_stream:
        streaming: Any = handler.stream_stream
        return grpc.stream_stream_rpc_method_handler(_wrap_stream_response(streaming), **common)
    return handler


class DomainErrorInterceptor(grpc.aio.ServerInterceptor):
    """Turns ``DomainError`` into its status code; anything else into INTERNAL (logged);
    request bytes that are not the request message into INVALID_ARGUMENT."""

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        return None if handler is None else with_domain_errors(handler)


def field_violations(error: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
    """(field, description) pairs of a rich INVALID_ARGUMENT status; the legacy trailer when
    the server sent no details."""
    found: list[tuple[str, str]] = []
    legacy = ""
    for key, value in error.trailing_metadata() or ():
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad = error_details_pb2.BadRequest()
                    detail.Unpack(bad)
                    found.extend((v.field, v.description) for v in bad.field_violations)
        elif key == FIELD_METADATA_KEY:
            legacy = str(value)
    if not found and legacy:
        found.append((legacy, error.details() or ""))
    return found


def domain_error_from_rpc(error: grpc.aio.AioRpcError) -> errors.DomainError:
    """Client side, the one mapper: the domain error a status stands for. A deadline is a
    ``DeadlineExceeded`` (narrow the request or allow more time), an unreachable service an
    ``Unavailable``; the two are never confused."""
    code = error.code()
    message = error.details() or code.name
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        violations = field_violations(error)
        field, description = violations[0] if violations else ("request", message)
        return domain_error_of(code, message, field, description)
    return domain_error_of(code, message)


def domain_error_of(
    code: grpc.StatusCode, message: str, field: str = "", description: str = ""
) -> errors.DomainError:
    """The domain error of a status given as its parts (``domain_error_from_rpc``; the
    per-item statuses of a batch call such as ``RedeemTokens``)."""
    if code == grpc.StatusCode.CANCELLED:
        # Pulse clients never cancel their own calls: CANCELLED means the server went away
        # mid-call (a shutdown's grace ran out). Retryable: writes carry their idempotency key.
        return errors.Unavailable(message)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        result = errors.InvalidArgument(field or "request", description or message)
        result.message = message
        return result
    for error_type, status in STATUS_OF:
        if status == code and error_type is not errors.InvalidArgument:
            return error_type(message)
    return errors.DomainError(message)


def status_code_of(value: int) -> grpc.StatusCode:
    """The status code with the number ``value`` (UNKNOWN when there is none)."""
    return next((c for c in grpc.StatusCode if c.value[0] == value), grpc.StatusCode.UNKNOWN)
