"""Redemptions sent together (issue 20, ``redeem_batch``): what arrives while a call is in
flight goes in the next call; each caller gets its own grant or its own refusal; a failed
call fails only the redemptions it carried; a survey service without RedeemTokens is called
one redemption at a time. The calls here stand in for the survey service's two RPCs (the
real ones are exercised by every Submit test)."""

from __future__ import annotations

import asyncio

import grpc
import grpc.aio
import pytest
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse_common import errors
from pulse_response.redeem_batch import RedeemBatcher


def rpc_error(code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), code.name)


class FakeSurvey:
    """Grants a token's own unit; refuses tokens starting with "bad"; can fail or lack the
    batch call."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.singles: list[str] = []
        self.fail_next: grpc.StatusCode | None = None
        self.release = asyncio.Event()
        self.release.set()

    async def batch(self, request: survey_pb.RedeemTokensRequest) -> survey_pb.RedeemTokensResponse:
        self.batches.append([r.token for r in request.redemptions])
        await self.release.wait()
        if self.fail_next is not None:
            code, self.fail_next = self.fail_next, None
            raise rpc_error(code)
        return survey_pb.RedeemTokensResponse(
            outcomes=[self.outcome(r) for r in request.redemptions]
        )

    async def single(self, request: survey_pb.RedeemTokenRequest) -> survey_pb.TokenGrant:
        self.singles.append(request.token)
        outcome = self.outcome(request)
        if outcome.code:
            raise errors.invalid_token()
        return outcome.grant

    @staticmethod
    def outcome(request: survey_pb.RedeemTokenRequest) -> survey_pb.RedeemTokenOutcome:
        if request.token.startswith("bad"):
            return survey_pb.RedeemTokenOutcome(
                code=grpc.StatusCode.UNAUTHENTICATED.value[0], message="invalid"
            )
        return survey_pb.RedeemTokenOutcome(grant=survey_pb.TokenGrant(unit_id=request.token))


def batcher(survey: FakeSurvey) -> RedeemBatcher:
    def refused(error: errors.DomainError) -> errors.DomainError:
        return errors.invalid_token() if isinstance(error, errors.Unauthenticated) else error

    return RedeemBatcher(
        survey.batch,
        survey.single,
        lambda error: errors.Unavailable(f"failed {error.code().name}"),
        refused,
    )


def request(token: str) -> survey_pb.RedeemTokenRequest:
    return survey_pb.RedeemTokenRequest(token=token, redemption_key=f"key-{token}")


async def test_what_arrives_during_a_call_goes_in_the_next_one() -> None:
    survey = FakeSurvey()
    survey.release.clear()
    redeem = batcher(survey).redeem
    first = asyncio.create_task(redeem(request("t0")))
    await asyncio.sleep(0.01)  # t0's call is in flight, held open
    rest = [asyncio.create_task(redeem(request(f"t{i}"))) for i in range(1, 20)]
    await asyncio.sleep(0.01)
    survey.release.set()
    grants = await asyncio.gather(first, *rest)
    assert [g.unit_id for g in grants] == [f"t{i}" for i in range(20)]
    assert survey.batches == [["t0"], [f"t{i}" for i in range(1, 20)]]


async def test_a_refused_token_fails_its_caller_only() -> None:
    survey = FakeSurvey()
    redeem = batcher(survey).redeem
    found = await asyncio.gather(
        *(redeem(request(t)) for t in ("a", "bad-1", "b")), return_exceptions=True
    )
    assert isinstance(found[0], survey_pb.TokenGrant)
    assert isinstance(found[2], survey_pb.TokenGrant)
    assert isinstance(found[1], errors.Unauthenticated)
    assert found[1].message == errors.INVALID_TOKEN_MESSAGE


async def test_a_failed_call_fails_what_it_carried_and_the_next_call_works() -> None:
    survey = FakeSurvey()
    redeem = batcher(survey).redeem
    survey.fail_next = grpc.StatusCode.UNAVAILABLE
    found = await asyncio.gather(redeem(request("a")), return_exceptions=True)
    assert isinstance(found[0], errors.Unavailable)
    assert (await redeem(request("a"))).unit_id == "a"  # retried with its key: granted


async def test_without_the_batch_call_each_is_redeemed_alone() -> None:
    survey = FakeSurvey()
    redeem = batcher(survey).redeem
    survey.fail_next = grpc.StatusCode.UNIMPLEMENTED
    found = await asyncio.gather(
        redeem(request("a")), redeem(request("bad")), return_exceptions=True
    )
    assert isinstance(found[0], survey_pb.TokenGrant)
    assert isinstance(found[1], errors.Unauthenticated)
    assert (await redeem(request("b"))).unit_id == "b"
    assert len(survey.batches) == 1  # never asked again
    assert survey.singles == ["a", "bad", "b"]


async def test_a_caller_that_gave_up_is_left_out() -> None:
    survey = FakeSurvey()
    survey.release.clear()
    redeem = batcher(survey).redeem
    first = asyncio.create_task(redeem(request("t0")))
    await asyncio.sleep(0.01)
    gone = asyncio.create_task(redeem(request("gone")))
    kept = asyncio.create_task(redeem(request("kept")))
    await asyncio.sleep(0.01)
    gone.cancel()
    survey.release.set()
    assert (await first).unit_id == "t0"
    assert (await kept).unit_id == "kept"
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert survey.batches == [["t0"], ["kept"]]
