"""Submitting the simulated respondents' answers: bounded concurrency, safe retries and a
tally of what was submitted and what failed. Failed calls are read through the one
client-side mapper (``domain_error_from_rpc``)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

import grpc.aio
from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse.types.v1 import types_pb2
from pulse_common.errors import DomainError, ResourceExhausted, RetryableError
from pulse_common.grpc_errors import domain_error_from_rpc
from pulse_common.measures import EMPLOYEE, Population

from pulse_cli.context import Stubs

T = TypeVar("T")
CONCURRENCY = 32


def worth_retrying(error: DomainError) -> bool:
    """A service that is down or slow, or the response service's rate limit: the same call
    may succeed a moment later."""
    return isinstance(error, RetryableError | ResourceExhausted)


async def retrying(call: Callable[[], Awaitable[T]], attempts: int = 8) -> T:
    """``call`` until it succeeds, backing off on errors worth retrying."""
    delay = 0.1
    for attempt in range(attempts):
        try:
            return await call()
        except grpc.aio.AioRpcError as error:
            if not worth_retrying(domain_error_from_rpc(error)) or attempt == attempts - 1:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")


def client_id(contact: str) -> str:
    """Each simulated respondent is its own client (the web front hashes addresses)."""
    return hashlib.sha256(f"demo-client:{contact}".encode()).hexdigest()[:32]


def answers_of(
    item_ids: list[str], scores: Iterable[int], comment_item: str, comment: str
) -> list[types_pb2.Answer]:
    answers = [
        types_pb2.Answer(item_id=item_id, score=score)
        for item_id, score in zip(item_ids, scores, strict=True)
    ]
    if comment and comment_item:
        answers.append(types_pb2.Answer(item_id=comment_item, text=comment))
    return answers


@dataclass
class Tally:
    submitted: int = 0
    employee: int = 0
    customer: int = 0
    failed: int = 0
    # "<employee|customer>:<domain error>" -> failed submissions
    errors: dict[str, int] = field(default_factory=dict)


class Submitter:
    """Bounded concurrency (``CONCURRENCY`` submissions in flight) with safe retries: the
    idempotency key is fixed per respondent, so a retried submission is never counted twice."""

    def __init__(self, stubs: Stubs, tally: Tally) -> None:
        self.stubs = stubs
        self.tally = tally
        self.slots = asyncio.Semaphore(CONCURRENCY)

    async def submit(self, request: resp_pb.SubmitRequest, population: Population) -> bool:
        async with self.slots:
            try:
                await retrying(
                    lambda: self.stubs.response.Submit(request, timeout=self.stubs.deadline_s)
                )
            except grpc.aio.AioRpcError as error:
                self.tally.failed += 1
                key = f"{population}:{type(domain_error_from_rpc(error)).__name__}"
                self.tally.errors[key] = self.tally.errors.get(key, 0) + 1
                return False
        self.tally.submitted += 1
        if population == EMPLOYEE:
            self.tally.employee += 1
        else:
            self.tally.customer += 1
        return True


async def gather_bounded(coroutines: Iterable[Awaitable[bool]]) -> int:
    """Run (the semaphore inside bounds concurrency); tasks are created in chunks so that a
    month of submissions does not allocate all its tasks at once."""
    ok = 0
    pending: list[Awaitable[bool]] = []
    for coroutine in coroutines:
        pending.append(coroutine)
        if len(pending) >= CONCURRENCY * 8:
            ok += sum(await asyncio.gather(*pending))
            pending = []
    if pending:
        ok += sum(await asyncio.gather(*pending))
    return ok
