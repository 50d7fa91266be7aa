"""gRPC edge: proto in, use case, proto out. Domain errors become status codes in the
shared interceptor.

Viewer scope: requests may carry a Viewer; the org tree belongs to the survey and
correlation services, so this service only insists that comment and recognition requests
name one unit (never a whole organisation); subtree checks are the caller's job for now."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc.aio
from pulse.response.v1 import response_service_pb2 as pb
from pulse.response.v1 import response_service_pb2_grpc as pb_grpc
from pulse_common import errors

from pulse_response.service import ResponseService

Context = grpc.aio.ServicerContext[Any, Any]


class ResponseServicer(pb_grpc.ResponseServiceServicer):
    def __init__(self, service: ResponseService) -> None:
        self.service = service

    async def GetForm(  # noqa: N802
        self, request: pb.GetFormRequest, context: Context
    ) -> pb.GetFormResponse:
        return await self.service.get_form(request.token)

    async def Submit(  # noqa: N802
        self, request: pb.SubmitRequest, context: Context
    ) -> pb.SubmitResponse:
        return await self.service.submit(request)

    async def ImportResponses(  # noqa: N802
        self, request_iterator: AsyncIterator[pb.ImportResponsesRequest], context: Context
    ) -> pb.ImportResponsesResponse:
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("message") != "header":
            raise errors.InvalidArgument("header", "the first message must be the import header")

        async def rows() -> AsyncIterator[pb.ImportRow]:
            async for message in request_iterator:
                if message.WhichOneof("message") != "row":
                    raise errors.InvalidArgument("header", "only the first message may be a header")
                yield message.row

        return await self.service.import_responses(first.header, rows())

    async def CountResponses(  # noqa: N802
        self, request: pb.CountResponsesRequest, context: Context
    ) -> pb.CountResponsesResponse:
        return await self.service.count_responses(request)

    async def ListComments(  # noqa: N802
        self, request: pb.ListCommentsRequest, context: Context
    ) -> pb.ListCommentsResponse:
        return await self.service.list_comments(request)

    async def ListRecognition(  # noqa: N802
        self, request: pb.ListRecognitionRequest, context: Context
    ) -> pb.ListRecognitionResponse:
        return await self.service.list_recognition(request)
