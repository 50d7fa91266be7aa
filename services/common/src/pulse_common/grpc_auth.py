"""Caller checks at every gRPC port: the server interceptor that verifies the caller token of
each call and its role (``rpc_roles``) before any servicer runs (``CheckedCalls``, with the
domain-error mapping), and the client interceptors that attach a process's own token to calls
that carry none (``open_channel`` does the same without an interceptor: ``token_channel``).

Missing or bad identity is UNAUTHENTICATED, a role without the right PERMISSION_DENIED, on
every RPC, before the servicer sees the request. The verified ``Caller`` is available to servicers
through ``auth.current_caller()``; services take viewer and scope from it only."""

from __future__ import annotations

import contextvars
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
import grpc.aio
import jwt

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
from pulse_common.grpc_errors import status_for, with_domain_errors
from pulse_common.issuers import IssuerRegistry
from pulse_common.rpc_roles import POLICY, Rule, is_open

log = logging.getLogger(__name__)

Continuation = Callable[
    [grpc.HandlerCallDetails], Awaitable["grpc.RpcMethodHandler[Any, Any] | None"]
]


class Verifier(Protocol):
    def verify(self, token: str) -> Caller: ...


@dataclass
class _Verified:
    caller: Caller
    expires: float  # the token's ``exp``
    issuers: object  # the issuers mapping it was verified under (a reload replaces it)


class VerifiedTokens:
    """The registry's verification, remembered per token string (a bounded LRU): a
    process presents one token until it renews it, so the Ed25519 check ran once per call
    for the same answer. An entry is used only before its token's ``exp`` (no leeway) and
    while the issuers file is the one it was verified under (``pulse auth remove`` takes
    effect at the registry's next check, as without the cache). Refusals are not kept."""

    def __init__(self, registry: IssuerRegistry, size: int = 1024) -> None:
        self.registry = registry
        self.size = size
        self._seen: OrderedDict[str, _Verified] = OrderedDict()

    def verify(self, token: str) -> Caller:
        issuers = self.registry.issuers()
        now = time.time()
        hit = self._seen.get(token)
        if hit is not None and hit.issuers is issuers and now < hit.expires:
            self._seen.move_to_end(token)
            return hit.caller
        caller = self.registry.verify(token, now)
        claims = jwt.decode(token, options={"verify_signature": False})
        self._seen[token] = _Verified(caller, float(claims["exp"]), issuers)
        self._seen.move_to_end(token)
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return caller


def decide(registry: Verifier, policy: dict[str, Rule], method: str, metadata: Any) -> Caller:
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


def _decided(
    verifier: Verifier,
    policy: dict[str, Rule],
    method: str,
    context: grpc.aio.ServicerContext[Any, Any],
) -> Caller | errors.DomainError:
    """The verified caller of this call, or the ``DomainError`` refusing it (logged)."""
    try:
        return decide(verifier, policy, method, context.invocation_metadata())
    except errors.DomainError as error:
        log.info("call refused: %s", error.message, extra={"method": method})
        return error


async def _admit(
    context: grpc.aio.ServicerContext[Any, Any], decided: Caller | errors.DomainError
) -> contextvars.Token[Caller | None]:
    """Abort a refused call; otherwise make the caller the current caller (for
    ``auth.current_caller``) and return the token that undoes it."""
    if isinstance(decided, errors.DomainError):
        await context.abort(status_for(decided), decided.message)
        raise AssertionError("not reached: abort raises")  # pragma: no cover
    return set_caller(decided)


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Verifies the caller token and role of every call but health and reflection, from the
    call's metadata, before the servicer runs.

    ``guard`` wraps a method's handler once (``CheckedCalls`` keeps it per method); the
    wrapper decides per call. Used alone as a grpc interceptor it wraps on every call."""

    def __init__(self, registry: IssuerRegistry, policy: dict[str, Rule] | None = None) -> None:
        self.registry = registry
        self.verified = VerifiedTokens(registry)
        self.policy = POLICY if policy is None else policy

    def guard(
        self, method: str, handler: grpc.RpcMethodHandler[Any, Any]
    ) -> grpc.RpcMethodHandler[Any, Any]:
        """``handler`` of ``method`` checking its caller first (open methods as they are)."""
        if is_open(method):
            return handler
        verifier, policy = self.verified, self.policy

        def guarded(behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            async def wrapper(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                token = await _admit(context, _decided(verifier, policy, method, context))
                try:
                    return await behavior(request, context)
                finally:
                    reset_caller(token)

            return wrapper

        def guarded_stream(
            behavior: Callable[..., AsyncIterator[Any]],
        ) -> Callable[..., AsyncIterator[Any]]:
            async def wrapper(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                token = await _admit(context, _decided(verifier, policy, method, context))
                try:
                    async for item in behavior(request, context):
                        yield item
                finally:
                    reset_caller(token)

            return wrapper

        common = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(guarded(handler.unary_unary), **common)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(guarded(handler.stream_unary), **common)
        if handler.unary_stream:
            streaming: Any = handler.unary_stream
            return grpc.unary_stream_rpc_method_handler(guarded_stream(streaming), **common)
        if handler.stream_stream:
            both: Any = handler.stream_stream
            return grpc.stream_stream_rpc_method_handler(guarded_stream(both), **common)
        return handler

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        return None if handler is None else self.guard(handler_call_details.method, handler)


class CheckedCalls(grpc.aio.ServerInterceptor):
    """The one interceptor of a service's port: the caller checks of ``auth`` (when given)
    around the domain-error mapping (``grpc_errors.with_domain_errors``), as the two
    interceptors did in that order, with each method's wrapped handler built once: the
    registered handler of a method is the same object on every call, so a call costs a
    look-up here, not two rebuilt handlers and their closures."""

    def __init__(self, auth: AuthInterceptor | None) -> None:
        self.auth = auth
        # method -> (the handler found, the handler served)
        self._wrapped: dict[str, tuple[object, grpc.RpcMethodHandler[Any, Any]]] = {}

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        known = self._wrapped.get(method)
        if known is not None and known[0] is handler:
            return known[1]
        wrapped = with_domain_errors(handler)
        if self.auth is not None:
            wrapped = self.auth.guard(method, wrapped)
        self._wrapped[method] = (handler, wrapped)
        return wrapped


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
