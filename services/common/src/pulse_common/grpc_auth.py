"""Caller checks at every gRPC port: the server interceptor that verifies the caller token of
each call and its role (``rpc_roles``) before any servicer runs, and the client interceptor
that attaches a process's own token to calls that carry none.

Missing or bad identity is UNAUTHENTICATED, a role without the right PERMISSION_DENIED, on
every RPC, before the request is read. The verified ``Caller`` is available to servicers
through ``auth.current_caller()``; services take viewer and scope from it only."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import grpc.aio

from pulse_common import errors
from pulse_common.auth import (
    INVALID,
    MISSING,
    Caller,
    TokenSource,
    reset_caller,
    set_caller,
    token_of,
)
from pulse_common.grpc_errors import status_for
from pulse_common.issuers import IssuerRegistry
from pulse_common.rpc_roles import POLICY, Rule, is_open

log = logging.getLogger(__name__)

Continuation = Callable[
    [grpc.HandlerCallDetails], Awaitable["grpc.RpcMethodHandler[Any, Any] | None"]
]


def decide(registry: IssuerRegistry, policy: dict[str, Rule], method: str, metadata: Any) -> Caller:
    """The verified caller allowed to call ``method``; raises the refusal otherwise."""
    token = token_of(metadata)
    if token is None:
        raise errors.Unauthenticated(MISSING)
    if not token:
        raise errors.Unauthenticated(INVALID)
    caller = registry.verify(token)
    rule = policy.get(method)
    name = method.rsplit("/", 1)[-1]
    if rule is None:
        raise errors.PermissionDenied(f"{name} is not open to any role")
    if not caller.roles & rule.roles:
        raise errors.PermissionDenied(
            f"{name} needs the role {' or '.join(sorted(rule.roles))}; "
            f"the caller has {', '.join(sorted(caller.roles))}"
        )
    if caller.scope and not rule.scoped:
        raise errors.PermissionDenied(
            f"{name} acts on the whole organisation; this caller may see {caller.scope} only"
        )
    return caller


async def _admit(
    context: grpc.aio.ServicerContext[Any, Any],
    caller: Caller | None,
    refusal: errors.DomainError | None,
) -> contextvars.Token[Caller | None]:
    """Abort a refused call; otherwise make ``caller`` the current caller (for
    ``auth.current_caller``) and return the token that undoes it."""
    if refusal is not None or caller is None:
        error = refusal or errors.Unauthenticated(MISSING)
        await context.abort(status_for(error), error.message)
    return set_caller(caller)


def _guarded(
    behavior: Callable[..., Awaitable[Any]],
    caller: Caller | None,
    refusal: errors.DomainError | None,
) -> Callable[..., Awaitable[Any]]:
    async def wrapper(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        token = await _admit(context, caller, refusal)
        try:
            return await behavior(request, context)
        finally:
            reset_caller(token)

    return wrapper


def _guarded_stream(
    behavior: Callable[..., AsyncIterator[Any]],
    caller: Caller | None,
    refusal: errors.DomainError | None,
) -> Callable[..., AsyncIterator[Any]]:
    async def wrapper(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        token = await _admit(context, caller, refusal)
        try:
            async for item in behavior(request, context):
                yield item
        finally:
            reset_caller(token)

    return wrapper


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Verifies the caller token and role of every call but health and reflection."""

    def __init__(self, registry: IssuerRegistry, policy: dict[str, Rule] | None = None) -> None:
        self.registry = registry
        self.policy = POLICY if policy is None else policy

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        method = handler_call_details.method
        handler = await continuation(handler_call_details)
        if handler is None or is_open(method):
            return handler
        caller: Caller | None = None
        refusal: errors.DomainError | None = None
        try:
            caller = decide(
                self.registry, self.policy, method, handler_call_details.invocation_metadata
            )
        except errors.DomainError as error:
            refusal = error
            log.info("call refused: %s", error.message, extra={"method": method})
        common = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _guarded(handler.unary_unary, caller, refusal), **common
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                _guarded(handler.stream_unary, caller, refusal), **common
            )
        if handler.unary_stream:
            streaming: Any = handler.unary_stream
            return grpc.unary_stream_rpc_method_handler(
                _guarded_stream(streaming, caller, refusal), **common
            )
        if handler.stream_stream:
            both: Any = handler.stream_stream
            return grpc.stream_stream_rpc_method_handler(
                _guarded_stream(both, caller, refusal), **common
            )
        return handler


def _with_token(details: grpc.aio.ClientCallDetails, tokens: TokenSource) -> Any:
    metadata = list(details.metadata or ())
    if token_of(metadata) is None:
        metadata.extend(tokens.metadata())
    return grpc.aio.ClientCallDetails(
        method=details.method,
        timeout=details.timeout,
        metadata=grpc.aio.Metadata(*metadata),
        credentials=details.credentials,
        wait_for_ready=details.wait_for_ready,
    )


class _UnaryToken(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, tokens: TokenSource) -> None:
        self.tokens = tokens

    async def intercept_unary_unary(
        self, continuation: Any, client_call_details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(_with_token(client_call_details, self.tokens), request)


class _StreamToken(grpc.aio.StreamUnaryClientInterceptor):
    def __init__(self, tokens: TokenSource) -> None:
        self.tokens = tokens

    async def intercept_stream_unary(
        self,
        continuation: Any,
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: Any,
    ) -> Any:
        return await continuation(_with_token(client_call_details, self.tokens), request_iterator)


def default_token_interceptors(tokens: TokenSource) -> list[grpc.aio.ClientInterceptor]:
    """Client interceptors adding the process's own token to every call that carries no
    ``authorization`` (one per call kind: grpc.aio files an interceptor under one kind)."""
    return [_UnaryToken(tokens), _StreamToken(tokens)]
