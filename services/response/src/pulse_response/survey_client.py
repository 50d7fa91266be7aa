"""The response service's view of the survey service: tokens, published definitions and
the org tree (for viewer scopes), each call with a deadline, errors mapped back to domain errors."""

from __future__ import annotations

import logging
from collections.abc import Callable

import grpc
import grpc.aio
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.survey.v1 import survey_service_pb2_grpc as survey_grpc
from pulse.types.v1 import types_pb2
from pulse_common import errors
from pulse_common.grpc_errors import domain_error_from_rpc
from pulse_common.grpc_server import open_channel

log = logging.getLogger(__name__)


class SurveyClient:
    def __init__(self, address: Callable[[], str], deadline_s: Callable[[], float]) -> None:
        # Callables: in tests the stack learns the survey address after wiring.
        self._address = address
        self._deadline_s = deadline_s
        self._channel: grpc.aio.Channel | None = None
        self._channel_address = ""

    def _stub(self) -> survey_grpc.SurveyServiceAsyncStub:
        address = self._address()
        if self._channel is None or self._channel_address != address:
            self._channel = open_channel(address)
            self._channel_address = address
        return survey_grpc.SurveyServiceStub(self._channel)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    @staticmethod
    def _token_error(error: grpc.aio.AioRpcError) -> errors.DomainError:
        """Any refusal of a token is the one invalid-token error (no oracle); a down
        survey service is UNAVAILABLE so the client retries with its idempotency key."""
        mapped = domain_error_from_rpc(error)
        if isinstance(mapped, errors.Unauthenticated | errors.FailedPrecondition):
            return mapped  # the one invalid-token message, or "this survey has closed"
        if isinstance(mapped, errors.InvalidArgument | errors.NotFound):
            return errors.invalid_token()
        return _unavailable(error)

    async def inspect(self, token: str) -> survey_pb.TokenGrant:
        try:
            reply = await self._stub().InspectToken(
                survey_pb.InspectTokenRequest(token=token), timeout=self._deadline_s()
            )
        except grpc.aio.AioRpcError as error:
            raise self._token_error(error) from None
        return reply.grant

    async def redeem(self, token: str, redemption_key: str) -> survey_pb.TokenGrant:
        try:
            reply = await self._stub().RedeemToken(
                survey_pb.RedeemTokenRequest(token=token, redemption_key=redemption_key),
                timeout=self._deadline_s(),
            )
        except grpc.aio.AioRpcError as error:
            raise self._token_error(error) from None
        return reply.grant

    async def get_survey(self, survey_id: str, version: int) -> types_pb2.SurveyDefinition | None:
        """The published version, or None when the survey service does not know it."""
        try:
            reply = await self._stub().GetSurvey(
                survey_pb.GetSurveyRequest(survey_id=survey_id, version=version),
                timeout=self._deadline_s(),
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return None
            raise _unavailable(error) from None
        if reply.status != survey_pb.SURVEY_STATUS_PUBLISHED or reply.definition.version != version:
            return None
        return reply.definition

    async def subtree(self, root_unit_id: str) -> frozenset[str] | None:
        """Ids of the unit and everything under it as the org stands today, or None when
        the survey service does not know the unit."""
        try:
            reply = await self._stub().ListUnits(
                survey_pb.ListUnitsRequest(root_unit_id=root_unit_id), timeout=self._deadline_s()
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise _unavailable(error) from None
        return frozenset(u.unit_id for u in reply.units)

    async def unit_name(self, unit_id: str) -> str:
        """Best effort (the form still works without it)."""
        try:
            reply = await self._stub().ListUnits(
                survey_pb.ListUnitsRequest(root_unit_id=unit_id), timeout=self._deadline_s()
            )
        except grpc.aio.AioRpcError:
            return ""
        return next((u.name for u in reply.units if u.unit_id == unit_id), "")


def _unavailable(error: grpc.aio.AioRpcError) -> errors.Unavailable:
    log.warning("survey service call failed: %s %s", error.code(), error.details())
    return errors.Unavailable("the survey service is unavailable; please try again shortly")
