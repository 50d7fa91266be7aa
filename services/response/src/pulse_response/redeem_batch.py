"""Redemptions sent together (issue 20): while one ``RedeemTokens`` call is in flight, the
Submits that arrive wait and go in the next call, all at once. At one Submit at a time this is
one call per Submit, as before; at 32 callers a call carries several, and the per-call cost
of gRPC over mutual TLS on both sides (most of what a redemption cost the survey service) is
paid once for them.

Each redemption gets what RedeemToken would have answered it: its grant, or its own error
(one refused token fails nobody else); a failure of the call itself fails the redemptions it
carried, each as that failure, and the callers retry with their idempotency keys (a
redemption is idempotent by its key). A survey service without ``RedeemTokens`` (an older
version during a rolling upgrade) is called one redemption at a time."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable

import grpc
import grpc.aio
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse_common import errors
from pulse_common.grpc_errors import domain_error_of, status_code_of
from pulse_common.rpc_limits import MAX_REDEMPTIONS

BatchCall = Callable[[survey_pb.RedeemTokensRequest], Awaitable[survey_pb.RedeemTokensResponse]]
SingleCall = Callable[[survey_pb.RedeemTokenRequest], Awaitable[survey_pb.TokenGrant]]
# A failed call as the domain error its callers see (``survey_client._token_error``).
ErrorMap = Callable[[grpc.aio.AioRpcError], errors.DomainError]
# An outcome's error as the domain error its caller sees.
OutcomeError = Callable[[errors.DomainError], errors.DomainError]

Waiting = tuple[survey_pb.RedeemTokenRequest, "asyncio.Future[survey_pb.TokenGrant]"]


def outcome_error(outcome: survey_pb.RedeemTokenOutcome) -> errors.DomainError:
    """The domain error a refused redemption's status stands for."""
    code = status_code_of(outcome.code)
    return domain_error_of(code, outcome.message or code.name, outcome.field)


class RedeemBatcher:
    """One sender at a time; everything waiting goes in its next call (module doc)."""

    def __init__(
        self, batch: BatchCall, single: SingleCall, failed: ErrorMap, refused: OutcomeError
    ) -> None:
        self._batch = batch
        self._single = single
        self._failed = failed
        self._refused = refused
        self._waiting: list[Waiting] = []
        self._sender: asyncio.Task[None] | None = None
        self._batch_supported = True

    async def redeem(self, request: survey_pb.RedeemTokenRequest) -> survey_pb.TokenGrant:
        future: asyncio.Future[survey_pb.TokenGrant] = asyncio.get_running_loop().create_future()
        self._waiting.append((request, future))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_waiting())
        return await future

    async def _send_waiting(self) -> None:
        while self._waiting:
            carried = self._waiting[:MAX_REDEMPTIONS]
            del self._waiting[:MAX_REDEMPTIONS]
            live = [(r, f) for r, f in carried if not f.done()]  # a cancelled caller is gone
            if not live:
                continue
            try:
                await self._send(live)
            except Exception as error:  # never leave a caller waiting forever
                failure = errors.Unavailable(f"redeeming failed ({type(error).__name__})")
                _fail(live, failure)

    async def _send(self, carried: list[Waiting]) -> None:
        if not self._batch_supported:
            await asyncio.gather(*(self._one(r, f) for r, f in carried))
            return
        request = survey_pb.RedeemTokensRequest(redemptions=[r for r, _ in carried])
        try:
            reply = await self._batch(request)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.UNIMPLEMENTED:
                self._batch_supported = False
                await asyncio.gather(*(self._one(r, f) for r, f in carried))
                return
            _fail(carried, self._failed(error))
            return
        if len(reply.outcomes) != len(carried):
            _fail(
                carried,
                errors.Unavailable(
                    f"the survey service answered {len(reply.outcomes)} of "
                    f"{len(carried)} redemptions; try again"
                ),
            )
            return
        for (_, future), outcome in zip(carried, reply.outcomes, strict=True):
            if future.done():
                continue
            if outcome.code == 0:
                future.set_result(outcome.grant)
            else:
                future.set_exception(self._refused(outcome_error(outcome)))

    async def _one(
        self,
        request: survey_pb.RedeemTokenRequest,
        future: asyncio.Future[survey_pb.TokenGrant],
    ) -> None:
        try:
            grant = await self._single(request)
        except errors.DomainError as error:
            if not future.done():
                future.set_exception(error)
            return
        if not future.done():
            future.set_result(grant)


def _fail(carried: list[Waiting], failure: errors.DomainError) -> None:
    for _, future in carried:
        if not future.done():
            future.set_exception(copy.copy(failure))  # an exception object per caller
