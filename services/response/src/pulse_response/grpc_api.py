"""gRPC edge: proto in, use case, proto out. Domain errors become status codes in the
shared interceptor. Viewer scopes are checked in the service (see ``scope.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import grpc
import grpc.aio
from google.protobuf.message import DecodeError, Message
from pulse.response.v1 import response_service_pb2 as pb
from pulse.response.v1 import response_service_pb2_grpc as pb_grpc
from pulse_common import errors

from pulse_response.service import ResponseService

M = TypeVar("M", bound=Message)

Context = grpc.aio.ServicerContext[Any, Any]
SERVICE = pb.DESCRIPTOR.services_by_name["ResponseService"]


class Undecodable:
    """Stands in for a request protobuf could not parse (e.g. text that is not UTF-8), so
    the caller gets INVALID_ARGUMENT instead of the framework's UNKNOWN."""

    def __init__(self, type_name: str, error: DecodeError) -> None:
        self.type_name = type_name
        self.detail = str(error).rsplit(": ", 1)[-1]

    def error(self) -> errors.InvalidArgument:
        return errors.InvalidArgument(
            "request", f"not a valid {self.type_name} ({self.detail}); text must be UTF-8"
        )


def _lenient(message_type: type[Message]) -> Callable[[bytes], Message | Undecodable]:
    def parse(data: bytes) -> Message | Undecodable:
        try:
            return message_type.FromString(data)
        except DecodeError as error:
            return Undecodable(message_type.DESCRIPTOR.name, error)

    return parse


def _decoded(request: M | Undecodable) -> M:
    if isinstance(request, Undecodable):
        raise request.error()
    return request


def add_to_server(servicer: ResponseServicer, server: grpc.aio.Server) -> None:
    """Like the generated ``add_ResponseServiceServicer_to_server`` but with request parsing
    that reports undecodable input as INVALID_ARGUMENT."""
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in SERVICE.methods:
        request_type = getattr(pb, method.input_type.name)
        response_type = getattr(pb, method.output_type.name)
        make = (
            grpc.stream_unary_rpc_method_handler
            if method.client_streaming
            else grpc.unary_unary_rpc_method_handler
        )
        handlers[method.name] = make(
            getattr(servicer, method.name),
            request_deserializer=_lenient(request_type),
            response_serializer=response_type.SerializeToString,
        )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE.full_name, handlers),)
    )


class ResponseServicer(pb_grpc.ResponseServiceServicer):
    def __init__(self, service: ResponseService) -> None:
        self.service = service

    async def GetForm(  # noqa: N802
        self, request: pb.GetFormRequest | Undecodable, context: Context
    ) -> pb.GetFormResponse:
        return await self.service.get_form(_decoded(request).token)

    async def Submit(  # noqa: N802
        self, request: pb.SubmitRequest | Undecodable, context: Context
    ) -> pb.SubmitResponse:
        return await self.service.submit(_decoded(request))

    async def ImportResponses(  # noqa: N802
        self,
        request_iterator: AsyncIterator[pb.ImportResponsesRequest | Undecodable],
        context: Context,
    ) -> pb.ImportResponsesResponse:
        received = await anext(aiter(request_iterator), None)
        first = None if received is None else _decoded(received)
        if first is None or first.WhichOneof("message") != "header":
            raise errors.InvalidArgument("header", "the first message must be the import header")

        async def rows() -> AsyncIterator[pb.ImportRow]:
            async for received in request_iterator:
                message = _decoded(received)
                if message.WhichOneof("message") != "row":
                    raise errors.InvalidArgument("header", "only the first message may be a header")
                yield message.row

        return await self.service.import_responses(first.header, rows())

    async def CountResponses(  # noqa: N802
        self, request: pb.CountResponsesRequest | Undecodable, context: Context
    ) -> pb.CountResponsesResponse:
        return await self.service.count_responses(_decoded(request))

    async def ListComments(  # noqa: N802
        self, request: pb.ListCommentsRequest | Undecodable, context: Context
    ) -> pb.ListCommentsResponse:
        return await self.service.list_comments(_decoded(request))

    async def ListRecognition(  # noqa: N802
        self, request: pb.ListRecognitionRequest | Undecodable, context: Context
    ) -> pb.ListRecognitionResponse:
        return await self.service.list_recognition(_decoded(request))
