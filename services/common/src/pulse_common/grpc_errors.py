"""The one mapping from domain errors to gRPC status codes (DESIGN §4), applied to every
servicer by a server interceptor, and its inverse for clients."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import grpc.aio

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
)

FIELD_METADATA_KEY = "pulse-field"


def status_for(error: errors.DomainError) -> grpc.StatusCode:
    for error_type, code in STATUS_OF:
        if isinstance(error, error_type):
            return code
    return grpc.StatusCode.UNKNOWN


async def _abort(context: grpc.aio.ServicerContext[Any, Any], error: Exception) -> None:
    if isinstance(error, errors.DomainError):
        if isinstance(error, errors.InvalidArgument):
            context.set_trailing_metadata(((FIELD_METADATA_KEY, error.field),))
        await context.abort(status_for(error), error.message)
    log.exception("unexpected error in handler", exc_info=error)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error; the operator can see the log")


def _wrap_unary(behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def wrapper(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            return await behavior(request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as error:
            await _abort(context, error)

    return wrapper


def _wrap_stream_response(
    behavior: Callable[..., AsyncIterator[Any]],
) -> Callable[..., AsyncIterator[Any]]:
    async def wrapper(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            result: Any = behavior(request, context)
            if inspect.isasyncgen(result):
                async for item in result:
                    yield item
            else:  # handlers that write with context.write() are plain coroutines
                await result
        except grpc.aio.AbortError:
            raise
        except Exception as error:
            await _abort(context, error)

    return wrapper


class DomainErrorInterceptor(grpc.aio.ServerInterceptor):
    """Turns ``DomainError`` into its status code; anything else into INTERNAL (logged)."""

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        common = {
            "request_deserializer": handler.request_deserializer,
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


def domain_error_from_rpc(error: grpc.aio.AioRpcError) -> errors.DomainError:
    """Client side: the domain error a status code stands for (for CLI and web messages)."""
    code = error.code()
    message = error.details() or code.name
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        field = ""
        for key, value in error.trailing_metadata() or ():
            if key == FIELD_METADATA_KEY:
                field = str(value)
        result = errors.InvalidArgument(field or "request", message)
        result.message = message
        return result
    for error_type, status in STATUS_OF:
        if status == code and error_type is not errors.InvalidArgument:
            return error_type(message)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return errors.Unavailable(message)
    return errors.DomainError(message)
