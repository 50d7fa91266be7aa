"""gRPC edge of ResponseService: proto in, use case, proto out, nothing else. Domain errors
become status codes in the shared interceptor, which also answers INVALID_ARGUMENT for
request bytes that do not parse."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc.aio
from pulse.response.v1 import response_service_pb2 as pb
from pulse.response.v1 import response_service_pb2_grpc as pb_grpc
from pulse_common import errors

from pulse_response import comments, counts, form, imports, recognition, submit
from pulse_response.context import Deps
from pulse_response.submission import Submission

Context = grpc.aio.ServicerContext[Any, Any]


def add_to_server(servicer: ResponseServicer, server: grpc.aio.Server) -> None:
    pb_grpc.add_ResponseServiceServicer_to_server(servicer, server)


class ResponseServicer(pb_grpc.ResponseServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def GetForm(  # noqa: N802
        self, request: pb.GetFormRequest, context: Context
    ) -> pb.GetFormResponse:
        shown = await form.get_form(self.deps, request.token)
        return pb.GetFormResponse(
            definition=shown.definition,
            items=shown.items,
            unit_name=shown.unit_name,
            expires_at=shown.expires_at,
        )

    async def Submit(  # noqa: N802
        self, request: pb.SubmitRequest, context: Context
    ) -> pb.SubmitResponse:
        message = request
        receipt = await submit.submit(
            self.deps,
            Submission(
                token=message.token,
                answers=message.answers,
                idempotency_key=message.idempotency_key,
                share_comment_with_team=message.share_comment_with_team,
                client_id=message.client_id,
                size_bytes=message.ByteSize(),
            ),
        )
        return pb.SubmitResponse(
            response_id=receipt.response_id,
            survey_id=receipt.survey_id,
            survey_version=receipt.survey_version,
            replayed=receipt.replayed,
        )

    async def ImportResponses(  # noqa: N802
        self,
        request_iterator: AsyncIterator[pb.ImportResponsesRequest],
        context: Context,
    ) -> pb.ImportResponsesResponse:
        received = await anext(aiter(request_iterator), None)
        first = None if received is None else received
        if first is None or first.WhichOneof("message") != "header":
            raise errors.InvalidArgument("header", "the first message must be the import header")

        async def rows() -> AsyncIterator[pb.ImportRow]:
            async for received in request_iterator:
                message = received
                if message.WhichOneof("message") != "row":
                    raise errors.InvalidArgument("header", "only the first message may be a header")
                yield message.row

        header = first.header
        result = await imports.import_responses(
            self.deps,
            imports.ImportHeader(
                survey_id=header.survey_id,
                survey_version=header.survey_version,
                source_name=header.source_name,
                dry_run=header.dry_run,
            ),
            rows(),
        )
        return pb.ImportResponsesResponse(
            accepted=result.accepted,
            rejected=[
                pb.RejectedImportRow(line=r.line, field=r.field, reason=r.reason)
                for r in result.rejected
            ],
            dry_run=result.dry_run,
            batch_id=result.batch_id,
        )

    async def CountResponses(  # noqa: N802
        self, request: pb.CountResponsesRequest, context: Context
    ) -> pb.CountResponsesResponse:
        message = request
        found = await counts.count_responses(
            self.deps,
            wave_id=message.wave_id,
            survey_id=message.survey_id,
            period=message.period,
            scope_unit_id=message.viewer.scope_unit_id,
        )
        return pb.CountResponsesResponse(
            counts=[
                pb.UnitCount(unit_id=u.unit_id, responses=u.responses, suppressed=u.suppressed)
                for u in found.units
            ],
            min_group_size=found.min_group_size,
        )

    async def ListComments(  # noqa: N802
        self, request: pb.ListCommentsRequest, context: Context
    ) -> pb.ListCommentsResponse:
        message = request
        found = await comments.list_comments(
            self.deps,
            unit_id=message.unit_id,
            period=message.period,
            survey_id=message.survey_id,
            scope_unit_id=message.viewer.scope_unit_id,
        )
        return pb.ListCommentsResponse(
            comments=[pb.Comment(item_id=c.item_id, text=c.text) for c in found.comments],
            suppressed=found.suppressed,
            suppression_reason=found.suppression_reason,
            min_comment_group_size=found.threshold,
        )

    async def ListRecognition(  # noqa: N802
        self, request: pb.ListRecognitionRequest, context: Context
    ) -> pb.ListRecognitionResponse:
        message = request
        board = await recognition.list_recognition(
            self.deps,
            unit_id=message.unit_id,
            period_from=message.period_from,
            period_to=message.period_to,
            scope_unit_id=message.viewer.scope_unit_id,
            limit=message.limit,
        )
        return pb.ListRecognitionResponse(
            entries=[
                pb.RecognitionEntry(
                    unit_id=e.group.unit_id,
                    period=e.group.period,
                    text=e.text,
                    staff_treatment_score=e.staff_treatment_score,
                )
                for e in board.entries
            ],
            suppressed=board.suppressed,
            suppression_reason=board.suppression_reason,
        )
