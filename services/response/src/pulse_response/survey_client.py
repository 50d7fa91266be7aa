"""The response service's view of the survey service: tokens, published definitions and
the org tree (for viewer scopes). One channel for the service's life; every call carries the
configured deadline; errors become domain errors through the one shared mapper."""

from __future__ import annotations

import logging
from datetime import date

import grpc.aio
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.survey.v1 import survey_service_pb2_grpc as survey_grpc
from pulse.types.v1 import types_pb2
from pulse_common import errors
from pulse_common.auth import TokenSource
from pulse_common.grpc_errors import domain_error_from_rpc
from pulse_common.grpc_server import open_channel
from pulse_common.tls import TlsMaterial

from pulse_response.redeem_batch import RedeemBatcher

log = logging.getLogger(__name__)


def _failed(call: str, error: grpc.aio.AioRpcError) -> errors.DomainError:
    mapped = domain_error_from_rpc(error)
    if not isinstance(mapped, errors.CallerError):  # refusals are answers, not failures
        log.warning("survey service %s failed: %s %s", call, error.code(), error.details())
    if not isinstance(mapped, errors.CallerError | errors.RetryableError):
        # INTERNAL, UNKNOWN, CANCELLED...: the survey service failed, not this request; our
        # callers retry with their idempotency key (never an UNKNOWN of ours).
        return errors.Unavailable(f"the survey service failed ({error.code().name}); try again")
    return mapped


def _token_error(call: str, error: grpc.aio.AioRpcError) -> errors.DomainError:
    """Any refusal of a token is the one invalid-token error, word for word (no oracle for
    which refusal it was). A closed wave (FAILED_PRECONDITION) and retryable failures keep
    their meaning, so the client retries with its idempotency key."""
    return _token_refusal(_failed(call, error))


def _token_refusal(mapped: errors.DomainError) -> errors.DomainError:
    """``_token_error`` of an error already mapped (a refused redemption of a batch)."""
    if isinstance(mapped, errors.Unauthenticated | errors.InvalidArgument | errors.NotFound):
        return errors.invalid_token()
    if not isinstance(mapped, errors.CallerError | errors.RetryableError):
        return errors.Unavailable("the survey service failed; try again")
    return mapped


class SurveyClient:
    """Calls go over mutual TLS with the response service's certificate, each with a
    token of its own credential (role ``response``: the only role that may inspect and
    redeem survey links)."""

    def __init__(
        self, address: str, deadline_s: float, tls: TlsMaterial | None, tokens: TokenSource
    ) -> None:
        self._deadline_s = deadline_s
        self._channel = open_channel(address, tls, tokens)
        self._stub = survey_grpc.SurveyServiceStub(self._channel)
        self._redemptions = RedeemBatcher(
            self._redeem_batch,
            self._redeem_one,
            lambda error: _token_error("RedeemTokens", error),
            _token_refusal,
        )

    async def close(self) -> None:
        await self._channel.close()

    async def inspect(self, token: str) -> survey_pb.TokenGrant:
        try:
            reply = await self._stub.InspectToken(
                survey_pb.InspectTokenRequest(token=token), timeout=self._deadline_s
            )
        except grpc.aio.AioRpcError as error:
            raise _token_error("InspectToken", error) from None
        return reply.grant

    async def redeem(self, token: str, redemption_key: str) -> survey_pb.TokenGrant:
        """Sent with the redemptions that arrive meanwhile (``redeem_batch``)."""
        return await self._redemptions.redeem(
            survey_pb.RedeemTokenRequest(token=token, redemption_key=redemption_key)
        )

    async def _redeem_batch(
        self, request: survey_pb.RedeemTokensRequest
    ) -> survey_pb.RedeemTokensResponse:
        reply: survey_pb.RedeemTokensResponse = await self._stub.RedeemTokens(
            request, timeout=self._deadline_s
        )
        return reply

    async def _redeem_one(self, request: survey_pb.RedeemTokenRequest) -> survey_pb.TokenGrant:
        try:
            reply = await self._stub.RedeemToken(request, timeout=self._deadline_s)
        except grpc.aio.AioRpcError as error:
            raise _token_error("RedeemToken", error) from None
        return reply.grant

    async def get_survey(self, survey_id: str, version: int) -> types_pb2.SurveyDefinition | None:
        """The published version, or None when the survey service does not know it."""
        try:
            reply = await self._stub.GetSurvey(
                survey_pb.GetSurveyRequest(survey_id=survey_id, version=version),
                timeout=self._deadline_s,
            )
        except grpc.aio.AioRpcError as error:
            mapped = _failed("GetSurvey", error)
            if isinstance(mapped, errors.NotFound | errors.InvalidArgument):
                return None
            raise mapped from None
        if reply.status != survey_pb.SURVEY_STATUS_PUBLISHED or reply.definition.version != version:
            return None
        return reply.definition

    async def subtree(self, root_unit_id: str) -> frozenset[str] | None:
        """Ids of the unit and everything under it as the org stands today, or None when
        the survey service does not know the unit."""
        try:
            reply = await self._stub.ListUnits(
                survey_pb.ListUnitsRequest(root_unit_id=root_unit_id), timeout=self._deadline_s
            )
        except grpc.aio.AioRpcError as error:
            mapped = _failed("ListUnits", error)
            if isinstance(mapped, errors.NotFound):
                return None
            raise mapped from None
        return frozenset(u.unit_id for u in reply.units)

    async def unit_name(self, unit_id: str) -> str:
        """Best effort: the form works without it, so a failure is logged and ignored."""
        try:
            reply = await self._stub.ListUnits(
                survey_pb.ListUnitsRequest(root_unit_id=unit_id), timeout=self._deadline_s
            )
        except grpc.aio.AioRpcError as error:
            _failed("ListUnits", error)
            return ""
        return next((u.name for u in reply.units if u.unit_id == unit_id), "")

    async def units_as_of(self, day: date) -> frozenset[str]:
        """Ids of every unit of the organisation on ``day`` (imports check their rows'
        units). Any failure, a refusal included, is the survey service's: ``Unavailable``."""
        try:
            reply = await self._stub.ListUnits(
                survey_pb.ListUnitsRequest(as_of=day.isoformat()), timeout=self._deadline_s
            )
        except grpc.aio.AioRpcError as error:
            if isinstance(_failed("ListUnits", error), errors.CallerError):
                log.warning("survey service refused ListUnits: %s", error.code())
            raise errors.Unavailable(
                f"cannot reach the survey service for the units of {day.isoformat()} "
                f"({error.code().name}); try again"
            ) from None
        return frozenset(u.unit_id for u in reply.units)
