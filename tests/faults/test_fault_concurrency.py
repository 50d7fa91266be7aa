"""Properties 6 and 7: concurrent duplicates of one submission, and concurrent uses of one
token by different submissions, against the real processes."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import grpc.aio
from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse_testing.faults.load import Respondents, answers, open_wave, reconcile, report
from pulse_testing.faults.stack import FaultStack


async def test_fifty_concurrent_duplicate_submits_store_one(fault_stack: FaultStack) -> None:
    async with fault_stack.stubs() as stubs:
        wave = await open_wave(fault_stack, stubs, "f06", {"f06-a": 5})
        key = uuid.uuid4().hex
        request = resp_pb.SubmitRequest(
            token=wave.tokens[0], answers=answers(1), idempotency_key=key
        )
        replies = await asyncio.gather(
            *(stubs.response.Submit(request, timeout=30) for _ in range(50))
        )
        respondents = Respondents(stubs)
        respondents.tally.submitted = 1
        respondents.tally.ok[wave.tokens[0]] = replies[0].response_id
        outcome = await reconcile(fault_stack, wave, respondents.tally)
    ids = {reply.response_id for reply in replies}
    report(
        "duplicate-submits",
        submitted=len(replies),
        ok=len(replies),
        counted=outcome.counted,
        lost=outcome.lost,
        duplicated=outcome.duplicated,
        distinct_replies=len(ids),
        replayed=sum(reply.replayed for reply in replies),
    )
    assert len(ids) == 1
    assert sum(not reply.replayed for reply in replies) == 1
    assert (outcome.persisted, outcome.counted, outcome.lost, outcome.duplicated) == (1, 1, 0, 0)


async def test_twenty_concurrent_uses_of_one_token_succeed_once(fault_stack: FaultStack) -> None:
    async with fault_stack.stubs() as stubs:
        wave = await open_wave(fault_stack, stubs, "f07", {"f07-a": 5})

        async def use(n: int) -> str:
            request = resp_pb.SubmitRequest(
                token=wave.tokens[0], answers=answers(n), idempotency_key=uuid.uuid4().hex
            )
            try:
                reply = await stubs.response.Submit(request, timeout=30)
            except grpc.aio.AioRpcError as error:
                return error.code().name
            return "OK:" + reply.response_id

        outcomes = await asyncio.gather(*(use(n) for n in range(20)))
        respondents = Respondents(stubs)
        respondents.tally.submitted = 1
        winners = [o for o in outcomes if o.startswith("OK:")]
        respondents.tally.ok = {wave.tokens[0]: winners[0][3:]} if winners else {}
        outcome = await reconcile(fault_stack, wave, respondents.tally)
    refused = [o for o in outcomes if not o.startswith("OK:")]
    report(
        "one-token-twenty-uses",
        submitted=len(outcomes),
        ok=len(winners),
        counted=outcome.counted,
        lost=outcome.lost,
        duplicated=outcome.duplicated,
        refused=len(refused),
        refusal_codes=",".join(sorted(set(refused))),
    )
    assert len(winners) == 1
    assert set(refused) == {"UNAUTHENTICATED"}
    assert (outcome.persisted, outcome.counted, outcome.lost, outcome.duplicated) == (1, 1, 0, 0)
