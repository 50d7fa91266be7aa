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
from pulse_common.auth import current_caller

from pulse_response import comments, counts, form, imports, recognition, submit
from pulse_response.context import Deps
from pulse_response.domain import APPROVED, HIDDEN, PENDING, REPORTED, Praise
from pulse_response.grpc_follow_ups import FollowUpServicer
from pulse_response.import_audit import ImportRecord
from pulse_response.submission import Submission

Context = grpc.aio.ServicerContext[Any, Any]


def add_to_server(servicer: ResponseServicer, server: grpc.aio.Server) -> None:
    pb_grpc.add_ResponseServiceServicer_to_server(servicer, server)


class ResponseServicer(FollowUpServicer, pb_grpc.ResponseServiceServicer):
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def GetForm(  # noqa: N802
        self, request: pb.GetFormRequest, context: Context
    ) -> pb.GetFormResponse:
        shown = await form.get_form(self.deps, request.token, request.idempotency_key)
        return pb.GetFormResponse(
            definition=shown.definition,
            items=shown.items,
            unit_name=shown.unit_name,
            expires_at=shown.expires_at,
            language=shown.language,
            channel=shown.channel,
            form_grant=shown.form_grant,
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
                contact_consent=message.contact_consent,
                contact=message.contact,
                form_grant=message.form_grant,
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
                kind = message.WhichOneof("message")
                if kind == "rows":  # a chunk of rows in one message
                    for row in message.rows.rows:
                        yield row
                    continue
                if kind != "row":
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
                imported_by=current_caller().viewer_id,
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
            already_imported=result.already_imported,
        )

    async def ListImports(  # noqa: N802
        self, request: pb.ListImportsRequest, context: Context
    ) -> pb.ListImportsResponse:
        limit = request.limit or DEFAULT_IMPORTS
        if not 1 <= limit <= MAX_IMPORTS:
            raise errors.InvalidArgument("limit", f"must be between 1 and {MAX_IMPORTS}")
        found = await imports.list_imports(self.deps, limit)
        return pb.ListImportsResponse(imports=[import_record(r) for r in found])

    async def CountResponses(  # noqa: N802
        self, request: pb.CountResponsesRequest, context: Context
    ) -> pb.CountResponsesResponse:
        message = request
        found = await counts.count_responses(
            self.deps,
            wave_id=message.wave_id,
            survey_id=message.survey_id,
            period=message.period,
            scope_unit_id=current_caller().scope,
        )
        return pb.CountResponsesResponse(
            counts=[
                pb.UnitCount(
                    unit_id=u.unit_id,
                    responses=u.responses,
                    suppressed=u.suppressed,
                    imported=u.imported,
                )
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
            scope_unit_id=current_caller().scope,
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
            recognition.BoardQuery(
                unit_id=message.unit_id,
                period_from=message.period_from,
                period_to=message.period_to,
                scope_unit_id=current_caller().scope,
                limit=message.limit,
                status=LISTED_STATUS.get(message.status, "unknown"),
                organisation_wide=message.organisation_wide,
            ),
        )
        return pb.ListRecognitionResponse(
            entries=[recognition_entry(e) for e in board.entries],
            suppressed=board.suppressed,
            suppression_reason=board.suppression_reason,
        )

    async def ModerateRecognition(  # noqa: N802
        self, request: pb.ModerateRecognitionRequest, context: Context
    ) -> pb.ModerateRecognitionResponse:
        entry = await recognition.moderate(
            self.deps,
            request.entry_id,
            STATUS_NAMES.get(request.status, "unknown"),
            current_caller().scope,
        )
        return pb.ModerateRecognitionResponse(entry=recognition_entry(entry))


DEFAULT_IMPORTS, MAX_IMPORTS = 100, 1000


def import_record(r: ImportRecord) -> pb.ImportRecord:
    return pb.ImportRecord(
        batch_id=r.batch_id,
        survey_id=r.survey_id,
        survey_version=r.survey_version,
        source_name=r.source_name,
        accepted=r.accepted,
        imported_by=r.imported_by,
        imported_at=r.imported_at.isoformat(timespec="seconds") if r.imported_at else "",
        unit_ids=r.unit_ids,
        periods=r.periods,
        outcome=r.outcome,
        reason=r.reason,
    )


STATUS_NAMES = {
    pb.RECOGNITION_STATUS_PENDING: PENDING,
    pb.RECOGNITION_STATUS_APPROVED: APPROVED,
    pb.RECOGNITION_STATUS_HIDDEN: HIDDEN,
    pb.RECOGNITION_STATUS_REPORTED: REPORTED,
}
STATUS_VALUES = {name: value for value, name in STATUS_NAMES.items()}
# ListRecognition: unspecified means the board (approved stories).
LISTED_STATUS = {pb.RECOGNITION_STATUS_UNSPECIFIED: APPROVED, **STATUS_NAMES}


def recognition_entry(entry: Praise) -> pb.RecognitionEntry:
    return pb.RecognitionEntry(
        unit_id=entry.group.unit_id,
        period=entry.group.period,
        text=entry.text,
        staff_treatment_score=entry.staff_treatment_score,
        entry_id=entry.entry_id,
        status=STATUS_VALUES[entry.status],
    )
