"""Use cases of the response service. Each write is one transaction; bad input is
rejected before anything (including the token) is consumed."""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
from pulse.events.v1 import events_pb2
from pulse.response.v1 import response_service_pb2 as pb
from pulse.types.v1 import types_pb2
from pulse_common import errors, subjects
from pulse_common.config import Settings
from pulse_common.outbox import OutboxRelay, enqueue

from pulse_response import repository
from pulse_response.definitions import DefinitionCache
from pulse_response.domain import (
    IMPORT_NAMESPACE,
    UNIT_ID,
    AnswerProblem,
    idempotency_key_problem,
    import_response_id,
    is_customer,
    period_problem,
    validate_answers,
)
from pulse_response.import_rows import RowProblem, check_import_row
from pulse_response.limits import Limits
from pulse_response.rate_limit import SlidingWindowLimiter
from pulse_response.redact import redact
from pulse_response.repository import NewResponse
from pulse_response.scope import ScopeCache, outside_scope
from pulse_response.survey_client import SurveyClient

log = logging.getLogger(__name__)

MAX_TOKEN_CHARS = 512
MAX_CLIENT_ID_CHARS = 128
PURGE_EVERY_S = 3600.0
RATE_LIMIT_MESSAGE = "too many submissions from this client; try again in a minute"


def recorded_event(response: NewResponse) -> events_pb2.ResponseRecorded:
    """The event never carries free text, identity or time (DESIGN §3)."""
    return events_pb2.ResponseRecorded(
        response_id=str(response.response_id),
        survey_id=response.survey_id,
        survey_version=response.survey_version,
        kind=response.kind,  # type: ignore[arg-type]
        unit_id=response.unit_id,
        period=response.period,
        answers=[
            types_pb2.Answer(item_id=item_id, score=score)
            for item_id, score in response.answers.scores
        ],
        channel=response.channel if is_customer(response.kind) else "",
        source=response.source,
        wave_id=response.wave_id,
    )


async def store_response(conn: asyncpg.Connection, response: NewResponse) -> bool:
    """Inside the caller's transaction: the response and its outbox row, or nothing when
    the id already exists."""
    if not await repository.insert_response(conn, response):
        return False
    await enqueue(
        conn,
        subjects.RESPONSE_RECORDED,
        recorded_event(response),
        msg_id=str(response.response_id),
    )
    return True


class ResponseService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        limits: Limits,
        survey: SurveyClient,
        definitions: DefinitionCache,
        relay: OutboxRelay,
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.limits = limits
        self.survey = survey
        self.definitions = definitions
        self.relay = relay
        self.limiter = SlidingWindowLimiter(limits.submits_per_minute)
        self.scopes = ScopeCache(survey.subtree, limits.scope_cache_s)
        self._last_purge = -PURGE_EVERY_S

    # ---- Submit -------------------------------------------------------------------------

    def check_submit_shape(self, request: pb.SubmitRequest) -> None:
        size = request.ByteSize()
        if size > self.limits.max_request_bytes:
            raise errors.ResourceExhausted(
                f"request is {size} bytes; the limit is {self.limits.max_request_bytes} bytes"
            )
        problem = idempotency_key_problem(request.idempotency_key)
        if problem is not None:
            raise errors.InvalidArgument("idempotency_key", problem)
        if not request.token:
            raise errors.InvalidArgument("token", "is required")
        if len(request.token) > MAX_TOKEN_CHARS:
            raise errors.invalid_token()
        if len(request.client_id) > MAX_CLIENT_ID_CHARS:
            raise errors.InvalidArgument(
                "client_id", f"must be at most {MAX_CLIENT_ID_CHARS} characters"
            )
        if len(request.answers) > self.limits.max_answers:
            raise errors.InvalidArgument(
                "answers",
                f"at most {self.limits.max_answers} answers per response, "
                f"got {len(request.answers)}",
            )
        if not request.answers:
            raise errors.InvalidArgument("answers", "at least one answer is required")

    async def submit(self, request: pb.SubmitRequest) -> pb.SubmitResponse:
        self.check_submit_shape(request)
        key_hash = repository.idempotency_hash(request.idempotency_key)
        stored = await repository.find_reply(self.pool, key_hash)
        if stored is not None:
            return _replayed(stored)
        # Replays above do not count against the limit; real attempts do. Empty client ids
        # share one bucket.
        if not self.limiter.allow(request.client_id):
            raise errors.ResourceExhausted(RATE_LIMIT_MESSAGE)

        redeemed = False
        try:
            grant = await self.survey.inspect(request.token)
        except errors.Unauthenticated:
            # Already redeemed: by this same idempotency key (a retry after a crash between
            # redeem and commit, or a concurrent duplicate) the survey service returns the
            # grant again; for anyone else it is the one invalid-token error.
            grant = await self.survey.redeem(request.token, request.idempotency_key)
            redeemed = True
        definition = await self.definitions.get(grant.survey_id, grant.survey_version)
        if definition is None:
            raise errors.Unavailable(
                f"survey {grant.survey_id} version {grant.survey_version} is not available yet"
            )
        try:
            validated = validate_answers(
                request.answers,
                definition,
                asked_item_ids=grant.item_ids,
                max_answers=self.limits.max_answers,
                max_comment_chars=self.limits.max_comment_chars,
            )
        except AnswerProblem as problem:
            raise errors.InvalidArgument(problem.field_path(), problem.reason) from None
        if not redeemed:
            grant = await self.survey.redeem(request.token, request.idempotency_key)
        customer = is_customer(grant.kind)
        response = NewResponse(
            response_id=uuid.uuid4(),
            survey_id=grant.survey_id,
            survey_version=grant.survey_version,
            kind=int(grant.kind),
            unit_id=grant.unit_id,
            period=grant.period,
            wave_id=grant.wave_id,
            channel=grant.channel if customer else "",
            source="live",
            batch_id="",
            answers=validated,
            shared_with_team=customer and request.share_comment_with_team,
        )
        reply = pb.SubmitResponse(
            response_id=str(response.response_id),
            survey_id=response.survey_id,
            survey_version=response.survey_version,
        )
        async with repository.transaction(self.pool) as conn:
            await repository.lock_idempotency_key(conn, key_hash)
            stored = await repository.find_reply(conn, key_hash)
            if stored is not None:
                return _replayed(stored)  # a concurrent duplicate won; nothing written
            await store_response(conn, response)
            await repository.save_reply(conn, key_hash, reply.SerializeToString())
        self.relay.notify()
        await self._maybe_purge()
        return reply

    async def _maybe_purge(self) -> None:
        """Forget idempotency keys older than the retention, at most once an hour (no
        background task: nothing to stop at shutdown)."""
        now = time.monotonic()
        if now - self._last_purge < PURGE_EVERY_S:
            return
        self._last_purge = now
        try:
            purged = await self.purge_idempotency()
        except Exception as error:  # housekeeping must never fail a submit
            log.warning("idempotency purge failed: %s", error)
            return
        if purged:
            log.info("purged idempotency keys", extra={"count": purged})

    # ---- GetForm ------------------------------------------------------------------------

    async def get_form(self, token: str) -> pb.GetFormResponse:
        if not token:
            raise errors.InvalidArgument("token", "is required")
        if len(token) > MAX_TOKEN_CHARS:
            raise errors.invalid_token()
        grant = await self.survey.inspect(token)
        definition = await self.definitions.get(grant.survey_id, grant.survey_version)
        if definition is None:
            raise errors.Unavailable("this survey is not available yet; please try again")
        asked = set(grant.item_ids)
        items = [item for item in definition.items if not asked or item.item_id in asked]
        return pb.GetFormResponse(
            definition=definition,
            items=items,
            unit_name=await self.survey.unit_name(grant.unit_id),
            expires_at=grant.expires_at,
        )

    # ---- ImportResponses ----------------------------------------------------------------

    async def import_responses(
        self, header: pb.ImportHeader, rows: AsyncIterator[pb.ImportRow]
    ) -> pb.ImportResponsesResponse:
        if not header.survey_id:
            raise errors.InvalidArgument("header.survey_id", "is required")
        if header.survey_version < 1:
            raise errors.InvalidArgument("header.survey_version", "must be 1 or more")
        if len(header.source_name) > 200:
            raise errors.InvalidArgument("header.source_name", "must be at most 200 characters")
        definition = await self.definitions.get(header.survey_id, header.survey_version)
        if definition is None:
            raise errors.InvalidArgument(
                "header.survey_version",
                f"survey {header.survey_id} version {header.survey_version} is not published",
            )
        accepted: list[NewResponse] = []
        rejected: list[pb.RejectedImportRow] = []
        lines: set[int] = set()
        count = 0
        async for row in rows:
            count += 1
            if count > self.limits.max_import_rows:
                raise errors.ResourceExhausted(
                    f"an import takes at most {self.limits.max_import_rows} rows; split the file"
                )
            try:
                validated = check_import_row(row, definition, self.settings.period, self.limits)
                if row.line in lines:
                    raise RowProblem("line", f"line {row.line} appears twice")
            except RowProblem as problem:
                rejected.append(
                    pb.RejectedImportRow(line=row.line, field=problem.field, reason=problem.reason)
                )
                continue
            lines.add(row.line)
            row_id = import_response_id(
                definition.survey_id,
                definition.version,
                row.line,
                row.SerializeToString(deterministic=True),
            )
            accepted.append(
                NewResponse(
                    response_id=row_id,
                    survey_id=definition.survey_id,
                    survey_version=definition.version,
                    kind=int(definition.kind),
                    unit_id=row.unit_id,
                    period=row.period,
                    wave_id="",
                    channel=row.channel if is_customer(definition.kind) else "",
                    source="import",
                    batch_id="",
                    answers=validated,
                    shared_with_team=False,
                )
            )
        batch_id = str(
            uuid.uuid5(
                IMPORT_NAMESPACE,
                f"batch\x1f{definition.survey_id}\x1f{definition.version}\x1f"
                + ",".join(sorted(str(r.response_id) for r in accepted)),
            )
        )
        reply = pb.ImportResponsesResponse(
            accepted=len(accepted), rejected=rejected, dry_run=header.dry_run, batch_id=batch_id
        )
        if header.dry_run or not accepted:
            return reply
        written = 0
        size = self.limits.import_batch_size
        for start in range(0, len(accepted), size):
            async with repository.transaction(self.pool) as conn:
                for response in accepted[start : start + size]:
                    stamped = dataclasses.replace(response, batch_id=batch_id)
                    written += await store_response(conn, stamped)
            self.relay.notify()
        async with repository.transaction(self.pool) as conn:
            await repository.record_batch(
                conn,
                batch_id,
                definition.survey_id,
                definition.version,
                header.source_name,
                len(accepted),
            )
        log.info(
            "import finished",
            extra={
                "batch_id": batch_id,
                "accepted": len(accepted),
                "new": written,
                "rejected": len(rejected),
            },
        )
        return reply

    # ---- Reads (released only for groups of at least the threshold) --------------------

    async def _viewer_units(self, viewer: types_pb2.Viewer) -> frozenset[str] | None:
        """The units a viewer may see, or None for the whole organisation (empty scope)."""
        scope = viewer.scope_unit_id
        if not scope:
            return None
        _require_unit(scope, "viewer.scope_unit_id")
        return await self.scopes.subtree(scope)

    async def _require_in_scope(self, viewer: types_pb2.Viewer, unit_id: str) -> None:
        units = await self._viewer_units(viewer)
        if units is not None and unit_id not in units:
            raise outside_scope(unit_id, viewer.scope_unit_id)

    async def count_responses(self, request: pb.CountResponsesRequest) -> pb.CountResponsesResponse:
        if not request.wave_id and not (request.survey_id and request.period):
            raise errors.InvalidArgument("wave_id", "give a wave_id, or a survey_id and a period")
        visible = await self._viewer_units(request.viewer)
        if request.wave_id:
            counts, survey_id = await repository.counts_by_wave(self.pool, request.wave_id)
        else:
            counts = await repository.counts_by_survey_period(
                self.pool, request.survey_id, request.period
            )
            survey_id = request.survey_id
        if visible is not None:
            # A scoped viewer gets only its subtree's units (each unit is its own group, so
            # dropping some releases nothing new about the others).
            counts = [(unit, n) for unit, n in counts if unit in visible]
        k = self.settings.min_group_size
        if survey_id:
            survey_k, _ = await repository.survey_thresholds(self.pool, survey_id)
            k = max(k, survey_k)
        return pb.CountResponsesResponse(
            counts=[
                pb.UnitCount(unit_id=unit, responses=n, suppressed=False)
                if n >= k
                else pb.UnitCount(unit_id=unit, responses=0, suppressed=True)
                for unit, n in counts
            ],
            min_group_size=k,
        )

    async def _comment_threshold(self, survey_id: str) -> int:
        _, survey_ck = await repository.survey_thresholds(self.pool, survey_id)
        return max(self.settings.min_comment_group_size, survey_ck)

    async def list_comments(self, request: pb.ListCommentsRequest) -> pb.ListCommentsResponse:
        _require_unit(request.unit_id, "unit_id")
        problem = period_problem(request.period, self.settings.period)
        if problem is not None:
            raise errors.InvalidArgument("period", problem)
        if not request.survey_id:
            raise errors.InvalidArgument("survey_id", "is required")
        await self._require_in_scope(request.viewer, request.unit_id)
        threshold = await self._comment_threshold(request.survey_id)
        n = await repository.group_size(
            self.pool, request.survey_id, request.unit_id, request.period
        )
        if n < threshold:
            return pb.ListCommentsResponse(
                suppressed=True,
                suppression_reason=(
                    f"comments are shown only for groups of at least {threshold} responses"
                ),
                min_comment_group_size=threshold,
            )
        stored = await repository.comments_of_group(
            self.pool, request.survey_id, request.unit_id, request.period
        )
        return pb.ListCommentsResponse(
            comments=[pb.Comment(item_id=c.item_id, text=redact(c.text)) for c in stored],
            min_comment_group_size=threshold,
        )

    async def list_recognition(
        self, request: pb.ListRecognitionRequest
    ) -> pb.ListRecognitionResponse:
        """One unit, or (empty unit_id) every unit the viewer may see. Each unit x period
        group is released only with at least the comment threshold of customer responses."""
        if request.unit_id:
            _require_unit(request.unit_id, "unit_id")
        for name, value in (("period_from", request.period_from), ("period_to", request.period_to)):
            problem = period_problem(value, self.settings.period)
            if problem is not None:
                raise errors.InvalidArgument(name, problem)
        if request.period_from > request.period_to:
            raise errors.InvalidArgument("period_to", "must not be before period_from")
        if not 0 <= request.limit <= 500:
            raise errors.InvalidArgument("limit", "must be between 0 and 500 (0 = 50)")
        visible = await self._viewer_units(request.viewer)
        units: list[str] | None  # None: every unit (a viewer of the whole organisation)
        if request.unit_id:
            if visible is not None and request.unit_id not in visible:
                raise outside_scope(request.unit_id, request.viewer.scope_unit_id)
            units = [request.unit_id]
        else:
            units = None if visible is None else sorted(visible)
        threshold = self.settings.min_comment_group_size
        counts = await repository.customer_counts_by_group(
            self.pool, units, request.period_from, request.period_to
        )
        released = sorted(group for group, n in counts.items() if n >= threshold)
        withheld = len(counts) - len(released)
        rows = await repository.recognition_comments(self.pool, released, request.limit or 50)
        reply = pb.ListRecognitionResponse(
            entries=[
                pb.RecognitionEntry(
                    unit_id=r.unit_id,
                    period=r.period,
                    text=redact(r.text),
                    staff_treatment_score=r.staff_treatment_score,
                )
                for r in rows
            ]
        )
        if withheld:
            groups = "period(s)" if request.unit_id else "unit-period group(s)"
            reply.suppressed = True
            reply.suppression_reason = (
                f"{withheld} {groups} had fewer than {threshold} customer responses "
                "and are not shown"
            )
        return reply

    async def purge_idempotency(self) -> int:
        return await repository.purge_idempotency(self.pool, self.limits.idempotency_days)


def _replayed(stored: bytes) -> pb.SubmitResponse:
    reply = pb.SubmitResponse()
    reply.ParseFromString(stored)
    reply.replayed = True
    return reply


def _require_unit(unit_id: str, field: str) -> None:
    if not unit_id:
        raise errors.InvalidArgument(field, "is required")
    if not UNIT_ID.match(unit_id):
        raise errors.InvalidArgument(field, "must be 1-64 characters of letters, digits, _ . -")
