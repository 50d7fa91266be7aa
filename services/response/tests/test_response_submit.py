"""Submit through gRPC against the real survey service: storage without identity, the
event, replays, concurrency, and the one invalid-token error."""

from __future__ import annotations

import asyncio
import uuid

import grpc
from pulse.events.v1 import events_pb2
from pulse.response.v1 import response_service_pb2 as pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2 as t
from pulse_common.errors import INVALID_TOKEN_MESSAGE
from pulse_testing.response import (
    Harness,
    employee_answers,
    employee_wave,
    outbox_drained,
    rpc_error,
    stream_messages,
)


def key() -> str:
    return uuid.uuid4().hex


async def test_submit_stores_no_identity_and_publishes_once(harness: Harness) -> None:
    wave = await employee_wave(harness, {"n1": 2})
    token = wave.tokens[0]
    reply = await harness.response.Submit(
        pb.SubmitRequest(
            token=token,
            answers=employee_answers(comment="More recognition please"),
            idempotency_key=key(),
            client_id="c1",
        )
    )
    assert not reply.replayed
    assert reply.survey_id == wave.definition.survey_id
    assert reply.survey_version == wave.definition.version
    row = await harness.pool.fetchrow("SELECT * FROM responses")
    assert row is not None
    assert str(row["response_id"]) == reply.response_id
    assert row["unit_id"] in ("n1",)
    assert row["period"] == wave.period
    assert row["wave_id"] == wave.wave_id
    assert row["source"] == "live"
    # Nothing in the response schema holds the token or its hash.
    dump = await harness.pool.fetchval(
        "SELECT string_agg(t::text, ' ') FROM ("
        " SELECT r::text AS t FROM responses r UNION ALL SELECT c::text FROM comments c"
        " UNION ALL SELECT i::text FROM idempotency i"
        " UNION ALL SELECT s::text FROM response_scores s"
        ") x"
    )
    assert token not in dump
    comment = await harness.pool.fetchrow("SELECT * FROM comments")
    assert comment is not None
    assert comment["text"] == "More recognition please"
    await outbox_drained(harness.pool)
    messages = await stream_messages(harness.nats_url, "pulse.response.recorded", 1)
    assert [msg_id for msg_id, _ in messages] == [reply.response_id]
    event = events_pb2.ResponseRecorded()
    event.ParseFromString(messages[0][1])
    assert event.unit_id == "n1"
    assert event.wave_id == wave.wave_id
    assert event.source == "live"
    assert event.kind == t.SURVEY_KIND_EMPLOYEE_PULSE
    assert [(a.item_id, a.score) for a in event.answers] == [
        ("rec.1", 4),
        ("fair.1", 3),
        ("enps.1", 8),
    ]
    assert all(a.WhichOneof("value") == "score" for a in event.answers)  # no free text


async def test_retry_with_same_key_replays_and_writes_nothing(harness: Harness) -> None:
    wave = await employee_wave(harness, {"n1": 1})
    request = pb.SubmitRequest(
        token=wave.tokens[0], answers=employee_answers(), idempotency_key=key()
    )
    first = await harness.response.Submit(request)
    again = await harness.response.Submit(request)
    assert again.replayed
    assert again.response_id == first.response_id
    assert await harness.pool.fetchval("SELECT count(*) FROM responses") == 1


async def test_fifty_concurrent_submits_with_one_key_store_one_response(
    harness: Harness,
) -> None:
    wave = await employee_wave(harness, {"n1": 1})
    request = pb.SubmitRequest(
        token=wave.tokens[0], answers=employee_answers(), idempotency_key=key()
    )
    replies = await asyncio.gather(*(harness.response.Submit(request) for _ in range(50)))
    assert {r.response_id for r in replies} == {replies[0].response_id}
    assert {(r.survey_id, r.survey_version) for r in replies} == {
        (wave.definition.survey_id, wave.definition.version)
    }
    # Exactly one call did the work; the other 49 replay its stored reply.
    assert sum(not r.replayed for r in replies) == 1
    assert await harness.pool.fetchval("SELECT count(*) FROM responses") == 1
    assert await harness.pool.fetchval("SELECT count(*) FROM response_scores") == 3
    assert await harness.pool.fetchval("SELECT count(*) FROM idempotency") == 1
    await outbox_drained(harness.pool)
    messages = await stream_messages(harness.nats_url, "pulse.response.recorded", 1)
    assert [m for m, _ in messages] == [replies[0].response_id]


async def test_used_unknown_and_expired_tokens_get_one_identical_error(harness: Harness) -> None:
    wave = await employee_wave(harness, {"n1": 3})
    used, expired, fresh = wave.tokens[:3]
    await harness.response.Submit(
        pb.SubmitRequest(token=used, answers=employee_answers(), idempotency_key=key())
    )
    await harness.survey_pool.execute(
        "UPDATE invitations SET expires_at = now() - interval '1 hour'"
        " WHERE invitation_id = (SELECT invitation_id FROM invitation_tokens"
        "  WHERE token_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex'))",
        expired,
    )
    errors = []
    for token in (used, "x" * 43, fresh[:-2] + "AA", expired):
        errors.append(
            await rpc_error(
                harness.response.Submit(
                    pb.SubmitRequest(token=token, answers=employee_answers(), idempotency_key=key())
                )
            )
        )
    assert {(e.code(), e.details()) for e in errors} == {
        (grpc.StatusCode.UNAUTHENTICATED, INVALID_TOKEN_MESSAGE)
    }
    assert await harness.pool.fetchval("SELECT count(*) FROM responses") == 1


async def test_rotation_subset_is_enforced(harness: Harness) -> None:
    wave = await employee_wave(harness, {"n1": 1}, rotation=1)
    form = await harness.response.GetForm(pb.GetFormRequest(token=wave.tokens[0]))
    shown = [item.item_id for item in form.items]
    not_shown = [i.item_id for i in wave.definition.items if i.item_id not in shown]
    assert not_shown, "rotation should hide some items"
    assert {"rec.1", "fair.1", "enps.1"} <= set(shown)  # required items are always asked
    request = pb.SubmitRequest(
        token=wave.tokens[0],
        answers=[*employee_answers(), t.Answer(item_id=not_shown[0], score=3)],
        idempotency_key=key(),
    )
    error = await rpc_error(harness.response.Submit(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith("answers[3].item_id: ")
    assert "was not asked" in (error.details() or "")
    del request.answers[3]
    assert not (await harness.response.Submit(request)).replayed


async def test_retry_after_redeem_without_commit_still_succeeds(harness: Harness) -> None:
    """A crash between RedeemToken and our commit leaves the token redeemed under the
    client's key; the client's retry with that key must still be stored."""
    wave = await employee_wave(harness, {"n1": 1})
    retry_key = key()
    await harness.survey.RedeemToken(
        survey_pb.RedeemTokenRequest(token=wave.tokens[0], redemption_key=retry_key)
    )
    reply = await harness.response.Submit(
        pb.SubmitRequest(
            token=wave.tokens[0], answers=employee_answers(), idempotency_key=retry_key
        )
    )
    assert not reply.replayed
    assert await harness.pool.fetchval("SELECT count(*) FROM responses") == 1
    # Anyone else presenting the token gets the one invalid-token error.
    error = await rpc_error(
        harness.response.Submit(
            pb.SubmitRequest(
                token=wave.tokens[0], answers=employee_answers(), idempotency_key=key()
            )
        )
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
