"""A client channel that puts the process's own caller token on every call that carries
none, without a grpc.aio client interceptor.

An interceptor makes every call an ``InterceptedUnaryUnaryCall``: one more task, its done
callbacks and a rebuilt ``ClientCallDetails`` per call. Here the multi-callables a stub
gets from the channel add the token to the call's metadata themselves and return grpc's own
call objects (same behaviour as ``grpc_auth.default_token_interceptors``: a call that
brings an ``authorization`` of its own keeps it, and only it)."""

from __future__ import annotations

from typing import Any

import grpc
import grpc.aio

from pulse_common.auth import TokenSource, token_of


def _with_token(metadata: Any, tokens: TokenSource) -> Any:
    if metadata is not None and token_of(metadata) is not None:
        return metadata
    return (*(metadata or ()), *tokens.metadata())


class _UnaryUnary(grpc.aio.UnaryUnaryMultiCallable[Any, Any]):
    def __init__(self, inner: grpc.aio.UnaryUnaryMultiCallable[Any, Any], tokens: TokenSource):
        self._inner = inner
        self._tokens = tokens

    def __call__(self, request: Any, *, metadata: Any = None, **options: Any) -> Any:
        return self._inner(request, metadata=_with_token(metadata, self._tokens), **options)


class _UnaryStream(grpc.aio.UnaryStreamMultiCallable[Any, Any]):
    def __init__(self, inner: grpc.aio.UnaryStreamMultiCallable[Any, Any], tokens: TokenSource):
        self._inner = inner
        self._tokens = tokens

    def __call__(self, request: Any, *, metadata: Any = None, **options: Any) -> Any:
        return self._inner(request, metadata=_with_token(metadata, self._tokens), **options)


class _StreamUnary(grpc.aio.StreamUnaryMultiCallable[Any, Any]):
    def __init__(self, inner: grpc.aio.StreamUnaryMultiCallable[Any, Any], tokens: TokenSource):
        self._inner = inner
        self._tokens = tokens

    def __call__(
        self,
        request_iterator: Any = None,
        timeout: float | None = None,
        metadata: Any = None,
        credentials: grpc.CallCredentials | None = None,
        wait_for_ready: bool | None = None,
        compression: grpc.Compression | None = None,
    ) -> Any:
        return self._inner(
            request_iterator,
            timeout,
            _with_token(metadata, self._tokens),
            credentials,
            wait_for_ready,
            compression,
        )


class _StreamStream(grpc.aio.StreamStreamMultiCallable[Any, Any]):
    def __init__(self, inner: grpc.aio.StreamStreamMultiCallable[Any, Any], tokens: TokenSource):
        self._inner = inner
        self._tokens = tokens

    def __call__(
        self,
        request_iterator: Any = None,
        timeout: float | None = None,
        metadata: Any = None,
        credentials: grpc.CallCredentials | None = None,
        wait_for_ready: bool | None = None,
        compression: grpc.Compression | None = None,
    ) -> Any:
        return self._inner(
            request_iterator,
            timeout,
            _with_token(metadata, self._tokens),
            credentials,
            wait_for_ready,
            compression,
        )


class TokenChannel(grpc.aio.Channel):
    """``channel`` with ``tokens`` on every call that brings no token of its own."""

    def __init__(self, channel: grpc.aio.Channel, tokens: TokenSource) -> None:
        # Any: grpc's ``_registered_method`` argument is not in the type stubs.
        self._channel: Any = channel
        self._tokens = tokens

    async def __aenter__(self) -> TokenChannel:
        return self

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        await self._channel.__aexit__(exc_type, exc_val, exc_tb)

    async def close(self, grace: float | None = None) -> None:
        await self._channel.close(grace)

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        state: grpc.ChannelConnectivity = self._channel.get_state(try_to_connect)
        return state

    async def wait_for_state_change(self, last_observed_state: grpc.ChannelConnectivity) -> None:
        await self._channel.wait_for_state_change(last_observed_state)

    async def channel_ready(self) -> None:
        await self._channel.channel_ready()

    def unary_unary(
        self,
        method: str,
        request_serializer: Any = None,
        response_deserializer: Any = None,
        _registered_method: bool | None = False,
    ) -> grpc.aio.UnaryUnaryMultiCallable[Any, Any]:
        inner = self._channel.unary_unary(
            method, request_serializer, response_deserializer, _registered_method
        )
        return _UnaryUnary(inner, self._tokens)

    def unary_stream(
        self,
        method: str,
        request_serializer: Any = None,
        response_deserializer: Any = None,
        _registered_method: bool | None = False,
    ) -> grpc.aio.UnaryStreamMultiCallable[Any, Any]:
        inner = self._channel.unary_stream(
            method, request_serializer, response_deserializer, _registered_method
        )
        return _UnaryStream(inner, self._tokens)

    def stream_unary(
        self,
        method: str,
        request_serializer: Any = None,
        response_deserializer: Any = None,
        _registered_method: bool | None = False,
    ) -> grpc.aio.StreamUnaryMultiCallable[Any, Any]:
        inner = self._channel.stream_unary(
            method, request_serializer, response_deserializer, _registered_method
        )
        return _StreamUnary(inner, self._tokens)

    def stream_stream(
        self,
        method: str,
        request_serializer: Any = None,
        response_deserializer: Any = None,
        _registered_method: bool | None = False,
    ) -> grpc.aio.StreamStreamMultiCallable[Any, Any]:
        inner = self._channel.stream_stream(
            method, request_serializer, response_deserializer, _registered_method
        )
        return _StreamStream(inner, self._tokens)
