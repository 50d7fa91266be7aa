"""Submit, the live write: bad input is refused before anything (the token included) is
consumed, and a retry with the same idempotency key gets the first reply, never a second
response. An employee answer of a wave is accepted into the holding area (the respondent's
confirmation is immediate) and written to the answer tables in a shuffled batch with at
least k others of its group (``batches``); a customer answer is written at once. Comments
are stored redacted (``storage_text``). The order of the steps is described in the
service's README."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import replace

from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2
from pulse_common import errors
from pulse_common.db import Connection
from pulse_common.fields import parse_timestamp
from pulse_common.measures import is_customer

from pulse_response import batches, form_grant, holding, repository
from pulse_response import holding_repository as held
from pulse_response.answers import AnswerProblem, validate_answers
from pulse_response.context import Deps
from pulse_response.detractors import check_contact
from pulse_response.domain import Group, NewResponse, ValidatedAnswers
from pulse_response.follow_ups import flag_if_detractor
from pulse_response.idempotency import decode_replay, encode_receipt, key_hash
from pulse_response.recording import record
from pulse_response.redact import storage_text
from pulse_response.submission import Receipt, Submission, check_shape
from pulse_response.submit_write import write_response

log = logging.getLogger(__name__)

RATE_LIMIT_MESSAGE = "too many submissions from this client; try again in a minute"


async def submit(deps: Deps, submission: Submission) -> Receipt:
    check_shape(submission, deps.settings)
    contact = check_contact(submission.contact_consent, submission.contact)
    hashed = key_hash(submission.idempotency_key)
    # A retry of a stored submit is found by its write (the key's reply is taken): no
    # look-up first. Whatever refuses it on the way there (the limit, the token, the
    # answers, an outage of the survey service) is checked against a stored reply first.
    if not deps.limiter.allow(submission.client_id):  # empty client ids share one bucket
        limited = errors.ResourceExhausted(RATE_LIMIT_MESSAGE)
        return await _replay_or_raise(deps, hashed, submission, limited)
    try:
        grant, definition, validated = await _accepted(deps, submission)
    except errors.DomainError as error:
        return await _replay_or_raise(deps, hashed, submission, error)
    response = _new_response(grant, validated, submission.share_comment_with_team)
    receipt = Receipt(str(response.response_id), response.survey_id, response.survey_version)
    reply = encode_receipt(receipt, submission.idempotency_key)
    held_in = holding.hold_key(response)
    holds = holding.is_held(is_customer(response.kind), response.wave_id)
    flags = bool(contact) and is_customer(response.kind)
    if holds or flags:
        written = await _write_in_unit(
            deps, hashed, reply, response, definition, contact, grant.expires_at
        )
    else:
        async with deps.db.connection() as conn:
            written = await write_response(conn, hashed, reply, response)
        if written:
            deps.db.notify()
    if not written:  # a concurrent duplicate (or a retry) won; nothing was written
        return await _stored_reply(deps, hashed, submission)
    if holds:
        await _write_if_due(deps, held_in)
    await purge_if_due(deps)
    return receipt


class _Taken(Exception):
    """The idempotency key already has a reply: roll back, replay it."""


async def _write_in_unit(
    deps: Deps,
    hashed: bytes,
    reply: bytes,
    response: NewResponse,
    definition: types_pb2.SurveyDefinition,
    contact: str,
    expires_at: str,
) -> bool:
    """Held answers and flagged customers: one transaction, the key's reply first (a
    concurrent duplicate waits on it, then finds it taken and writes nothing)."""
    try:
        async with deps.db.unit_of_work() as uow:
            if not await repository.save_reply(uow.conn, hashed, reply):
                raise _Taken
            if holding.is_held(is_customer(response.kind), response.wave_id):
                k = holding.batch_size(deps.settings.answer_batch_k, definition.min_group_size)
                await _hold(deps, uow.conn, response, k, expires_at)
            else:
                await record(uow, response)
            if contact and is_customer(response.kind):
                await flag_if_detractor(uow, response, definition, contact)
    except _Taken:
        return False
    return True


async def _stored_reply(deps: Deps, hashed: bytes, submission: Submission) -> Receipt:
    async with deps.db.connection() as conn:
        stored = await repository.find_reply(conn, hashed)
    if stored is None:  # not reached: a taken key has a reply (purges keep recent ones)
        raise errors.Unavailable("a concurrent submit with this key failed; try again")
    return decode_replay(stored, submission.idempotency_key)


async def _replay_or_raise(
    deps: Deps, hashed: bytes, submission: Submission, error: errors.DomainError
) -> Receipt:
    """A refused attempt that repeats a stored submit gets its stored reply; anything else
    gets ``error``."""
    try:
        async with deps.db.connection() as conn:
            stored = await repository.find_reply(conn, hashed)
    except errors.RetryableError:
        stored = None
    if stored is None:
        raise error
    return decode_replay(stored, submission.idempotency_key)


async def _hold(
    deps: Deps, conn: Connection, response: NewResponse, k: int, expires_at: str
) -> None:
    """Seal ``response`` into the holding area until its batch is due; the wave's closing
    day is the token's expiry (an employee token expires when its wave closes)."""
    try:
        closes_on = parse_timestamp("expires_at", expires_at).date()
    except errors.InvalidArgument:
        closes_on = deps.today()
    key = holding.hold_key(response)
    sealed = holding.seal(
        holding.holding_key(deps.settings.common.hmac_secret),
        holding.encode_response(response),
        key.associated_data(),
    )
    await held.hold(conn, key, k, closes_on, sealed)


async def _write_if_due(deps: Deps, key: holding.HoldKey) -> None:
    """The answer is safely held (committed): a failed batch write is retried by the
    sweep, never reported to the respondent."""
    try:
        await batches.write_batch(deps, key)
    except Exception as error:
        log.warning("batch write failed; the sweep retries: %s", error)


async def _accepted(
    deps: Deps, submission: Submission
) -> tuple[survey_pb.TokenGrant, types_pb2.SurveyDefinition, ValidatedAnswers]:
    """The redeemed grant, the definition and the answers checked against what the token
    asks, the token consumed only once the answers passed. With a form grant sealed by
    GetForm: one call to the survey service (RedeemToken); without (or expired, altered,
    of another token): InspectToken first."""
    sealed = form_grant.open_grant(
        form_grant.grant_key(deps.settings.common.hmac_secret),
        submission.token,
        submission.form_grant,
        time.time(),
    )
    if sealed is not None:
        definition = await _definition(deps, sealed)
        validated = _validated(deps, submission, sealed, definition)
        grant = await deps.survey.redeem(submission.token, submission.idempotency_key)
        if form_grant.same_questions(sealed, grant):
            return grant, definition, validated
        # Not expected (the seal is this token's own InspectToken grant, e.g. a wave's
        # rotation changed since the form was shown): the redeemed grant decides.
        definition = await _definition(deps, grant)
        return grant, definition, _validated(deps, submission, grant, definition)
    grant, redeemed = await _grant_of(deps, submission)
    definition = await _definition(deps, grant)
    validated = _validated(deps, submission, grant, definition)
    if not redeemed:
        grant = await deps.survey.redeem(submission.token, submission.idempotency_key)
    return grant, definition, validated


async def _definition(deps: Deps, grant: survey_pb.TokenGrant) -> types_pb2.SurveyDefinition:
    definition = await deps.definitions.get(grant.survey_id, grant.survey_version)
    if definition is None:
        raise errors.Unavailable(
            f"survey {grant.survey_id} version {grant.survey_version} is not available yet"
        )
    return definition


async def _grant_of(deps: Deps, submission: Submission) -> tuple[survey_pb.TokenGrant, bool]:
    """The token's grant, and whether it is already redeemed (by this same key)."""
    try:
        return await deps.survey.inspect(submission.token), False
    except errors.Unauthenticated:
        # Already redeemed: by this same idempotency key (a retry after a crash between
        # redeem and commit, or a concurrent duplicate) the survey service returns the
        # grant again; for anyone else it is the one invalid-token error.
        return await deps.survey.redeem(submission.token, submission.idempotency_key), True


def _validated(
    deps: Deps,
    submission: Submission,
    grant: survey_pb.TokenGrant,
    definition: types_pb2.SurveyDefinition,
) -> ValidatedAnswers:
    try:
        return validate_answers(
            submission.answers,
            definition,
            asked_item_ids=grant.item_ids,
            max_answers=deps.settings.max_answers,
            max_comment_chars=deps.settings.max_comment_chars,
        )
    except AnswerProblem as problem:
        raise errors.InvalidArgument(problem.field_path(), problem.reason) from None


def _new_response(
    grant: survey_pb.TokenGrant, validated: ValidatedAnswers, share_comment: bool
) -> NewResponse:
    customer = is_customer(grant.kind)
    return NewResponse(
        response_id=uuid.uuid4(),
        survey_id=grant.survey_id,
        survey_version=grant.survey_version,
        kind=int(grant.kind),
        group=Group(grant.unit_id, grant.period),
        wave_id=grant.wave_id,
        channel=grant.channel if customer else "",
        source="live",
        batch_id="",
        # Redacted before it is held or stored: the raw text is never kept.
        answers=replace(
            validated,
            comments=[(item, storage_text(text)) for item, text in validated.comments],
        ),
        shared_with_team=customer and share_comment,
    )


async def purge_if_due(deps: Deps) -> None:
    """Forget idempotency keys older than the retention, at most once an hour. Housekeeping
    never fails a submit: a failed purge is logged and tried again an hour later."""
    if not deps.purge.due(deps.clock()):
        return
    try:
        async with deps.db.unit_of_work() as uow:
            purged = await repository.purge_idempotency(uow.conn, deps.settings.idempotency_days)
    except Exception as error:
        log.warning("idempotency purge failed: %s", error)
        return
    if purged:
        log.info("purged idempotency keys", extra={"count": purged})
