"""A table of bad Submit requests: each gets the right status code and a message naming the
field, and neither database changes (the token is not consumed either)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import grpc
import grpc.aio
import pytest
from pulse.response.v1 import response_service_pb2 as pb
from pulse.types.v1 import types_pb2 as t
from pulse_testing.response import (
    Harness,
    employee_answers,
    employee_wave,
    field_of,
    rpc_error,
    running_harness,
)
from pulse_testing.security import tools_channel

INVALID = grpc.StatusCode.INVALID_ARGUMENT
EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED


def answers_with(*extra: t.Answer, drop: str = "") -> list[t.Answer]:
    return [a for a in employee_answers() if a.item_id != drop] + list(extra)


def score(item_id: str, value: int) -> t.Answer:
    return t.Answer(item_id=item_id, score=value)


def text(item_id: str, value: str) -> t.Answer:
    return t.Answer(item_id=item_id, text=value)


Mutate = Callable[[pb.SubmitRequest], None]


def set_answers(answers: list[t.Answer]) -> Mutate:
    def mutate(request: pb.SubmitRequest) -> None:
        del request.answers[:]
        request.answers.extend(answers)

    return mutate


def set_field(name: str, value: str) -> Mutate:
    def mutate(request: pb.SubmitRequest) -> None:
        setattr(request, name, value)

    return mutate


# (case, change to a valid request, status, field named (INVALID_ARGUMENT) or message part)
CASES: list[tuple[str, Mutate, grpc.StatusCode, str]] = [
    ("short key", set_field("idempotency_key", "short"), INVALID, "idempotency_key"),
    ("no key", set_field("idempotency_key", ""), INVALID, "idempotency_key"),
    ("long key", set_field("idempotency_key", "k" * 129), INVALID, "idempotency_key"),
    ("no token", set_field("token", ""), INVALID, "token"),
    ("long client id", set_field("client_id", "c" * 129), INVALID, "client_id"),
    ("no answers", set_answers([]), INVALID, "answers"),
    ("too many answers", set_answers([score("rec.1", 3)] * 101), INVALID, "answers"),
    (
        "unknown item",
        set_answers([score("nope.1", 3), *employee_answers()]),
        INVALID,
        "answers[0].item_id",
    ),
    (
        "item of another survey",
        set_answers(answers_with(score("sup.1", 3))),
        INVALID,
        "answers[3].item_id",
    ),
    (
        "score above scale",
        set_answers([score("rec.1", 6), *employee_answers()[1:]]),
        INVALID,
        "answers[0].score",
    ),
    (
        "score below scale",
        set_answers([*employee_answers()[:2], score("enps.1", -1)]),
        INVALID,
        "answers[2].score",
    ),
    ("duplicate item", set_answers(answers_with(score("rec.1", 2))), INVALID, "answers[3].item_id"),
    ("required missing", set_answers(answers_with(drop="enps.1")), INVALID, "answers"),
    (
        "text for a scored item",
        set_answers([text("rec.1", "good"), *employee_answers()[1:]]),
        INVALID,
        "answers[0].score",
    ),
    (
        "score for a comment",
        set_answers(answers_with(score("ecomment.1", 3))),
        INVALID,
        "answers[3].text",
    ),
    (
        "comment too long",
        set_answers(answers_with(text("ecomment.1", "x" * 2001))),
        INVALID,
        "answers[3].text",
    ),
    (
        "comment with NUL",
        set_answers(answers_with(text("ecomment.1", "a\x00b"))),
        INVALID,
        "answers[3].text",
    ),
    (
        "comment with escape",
        set_answers(answers_with(text("ecomment.1", "a\x1b[2Jb"))),
        INVALID,
        "answers[3].text",
    ),
    (
        "request too large",
        set_answers(answers_with(text("ecomment.1", "x" * 70_000))),
        EXHAUSTED,
        "the limit is 65536 bytes",
    ),
]

TABLES = ("responses", "response_scores", "comments", "idempotency", "outbox", "import_batches")


async def snapshot(h: Harness) -> dict[str, object]:
    state: dict[str, object] = {
        table: await h.pool.fetchval(f"SELECT count(*) FROM {table}") for table in TABLES
    }
    state["redeemed"] = await h.survey_pool.fetchval(
        "SELECT count(*) FROM invitations WHERE redeemed"
    )
    return state


async def test_bad_requests_are_refused_and_change_nothing(harness: Harness) -> None:
    wave = await employee_wave(harness, {"n1": 1})

    def valid() -> pb.SubmitRequest:
        return pb.SubmitRequest(
            token=wave.tokens[0],
            answers=employee_answers(),
            idempotency_key=uuid.uuid4().hex,
            client_id="client-1",
        )

    before = await snapshot(harness)
    for case, mutate, code, expected in CASES:
        request = valid()
        mutate(request)
        error = await rpc_error(harness.response.Submit(request))
        assert error.code() == code, f"{case}: {error.code()} {error.details()}"
        if code == INVALID:
            assert field_of(error) == expected, case
            assert (error.details() or "").startswith(f"{expected}: "), case
        else:
            assert expected in (error.details() or ""), case
        assert await snapshot(harness) == before, case

    # The token was never consumed: the valid request still succeeds.
    reply = await harness.response.Submit(valid())
    assert not reply.replayed
    assert await harness.pool.fetchval("SELECT count(*) FROM responses") == 1


async def test_invalid_utf8_on_the_wire_is_refused(harness: Harness) -> None:
    request = pb.SubmitRequest(
        token="t" * 43,
        answers=answers_with(text("ecomment.1", "MARKER")),
        idempotency_key=uuid.uuid4().hex,
    )
    raw = request.SerializeToString().replace(b"MARKER", b"\xff\xfe\xfdAB\xc0")
    async with tools_channel(harness.stack.address("response")) as channel:
        call: grpc.aio.UnaryUnaryMultiCallable[bytes, pb.SubmitResponse] = channel.unary_unary(
            "/pulse.response.v1.ResponseService/Submit",
            request_serializer=None,
            response_deserializer=pb.SubmitResponse.FromString,
        )
        error = await rpc_error(call(raw))
    assert error.code() == INVALID
    assert field_of(error) == "request"
    assert "UTF-8" in (error.details() or "")
    assert await harness.pool.fetchval("SELECT count(*) FROM responses") == 0


@pytest.mark.parametrize("limit", [2])
async def test_rate_limit_per_client(database_url: str, nats_url: str, limit: int) -> None:
    async with running_harness(
        database_url, nats_url, PULSE_RESPONSE_SUBMITS_PER_MINUTE=str(limit)
    ) as h:
        wave = await employee_wave(h, {"n1": 4})
        for token in wave.tokens[:limit]:
            await h.response.Submit(
                pb.SubmitRequest(
                    token=token,
                    answers=employee_answers(),
                    idempotency_key=uuid.uuid4().hex,
                    client_id="busy",
                )
            )
        refused = pb.SubmitRequest(
            token=wave.tokens[limit],
            answers=employee_answers(),
            idempotency_key=uuid.uuid4().hex,
            client_id="busy",
        )
        error = await rpc_error(h.response.Submit(refused))
        assert error.code() == EXHAUSTED
        assert error.details() == "too many submissions from this client; try again in a minute"
        # Another client is not affected, and nothing was written for the refused call.
        assert await h.pool.fetchval("SELECT count(*) FROM responses") == limit
        refused.client_id = "other"
        await h.response.Submit(refused)


async def test_limits_are_configurable(database_url: str, nats_url: str) -> None:
    async with running_harness(database_url, nats_url, PULSE_RESPONSE_MAX_COMMENT_CHARS="10") as h:
        wave = await employee_wave(h, {"n1": 1})
        error = await rpc_error(
            h.response.Submit(
                pb.SubmitRequest(
                    token=wave.tokens[0],
                    answers=answers_with(text("ecomment.1", "eleven char")),
                    idempotency_key=uuid.uuid4().hex,
                )
            )
        )
        assert error.code() == INVALID
        assert error.details() == "answers[3].text: is 11 characters long; the limit is 10"
