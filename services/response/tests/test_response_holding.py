"""Issue 13, "no order, no time": employee answers wait sealed in the holding area and are
written in one shuffled batch once k of their group wait (or the wave closes); the
respondent's confirmation and idempotency are immediate; a batch writer failing half-way
or a restart of the service loses nothing; comments are stored redacted."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from pulse.response.v1 import response_service_pb2 as pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse_response import holding
from pulse_response.app import DEFINITION as RESPONSE
from pulse_response.domain import Group, NewResponse, ValidatedAnswers
from pulse_testing.response import (
    Harness,
    employee_answers,
    employee_wave,
    outbox_drained,
    running_harness,
)

COMMENT = "Call Maria Lopez on +49 170 1234567 or write to maria.lopez@example.com"


def _response() -> NewResponse:
    return NewResponse(
        response_id=uuid.uuid4(),
        survey_id="s",
        survey_version=2,
        kind=1,
        group=Group("n1", "2026-03"),
        wave_id="w",
        channel="",
        source="live",
        batch_id="",
        answers=ValidatedAnswers([("rec.1", 4)], [("ecomment.1", "ok")], False, 0),
        shared_with_team=False,
    )


def test_sealing_hides_the_answers_and_binds_the_group() -> None:
    response = _response()
    key = holding.holding_key("s" * 40)
    aad = holding.hold_key(response).associated_data()
    sealed = holding.seal(key, holding.encode_response(response), aad)
    assert str(response.response_id).encode() not in sealed
    assert holding.decode_response(holding.unseal(key, sealed, aad)) == response
    with pytest.raises(holding.Unsealable):
        holding.unseal(key, sealed, b"another group")
    with pytest.raises(holding.Unsealable):
        holding.unseal(holding.holding_key("t" * 40), sealed, aad)
    assert holding.batch_size(0, 5) == 5  # default: the survey's k
    assert holding.batch_size(1, 5) == 1
    assert holding.is_held(False, "w")
    assert not holding.is_held(True, "w")


@pytest.fixture
async def batching(database_url: str, nats_url: str) -> AsyncIterator[Harness]:
    """The real batching: k = the survey's threshold (5), swept every second."""
    env = {"PULSE_ANSWER_BATCH_K": "0", "PULSE_ANSWER_SWEEP_S": "1"}
    async with running_harness(database_url, nats_url, **env) as h:
        yield h


async def _submit(h: Harness, token: str, key: str, comment: str = "") -> pb.SubmitResponse:
    reply: pb.SubmitResponse = await h.response.Submit(
        pb.SubmitRequest(
            token=token,
            answers=employee_answers(comment=comment),
            idempotency_key=key,
            client_id="c1",
        )
    )
    return reply


async def _counts(h: Harness) -> tuple[int, int]:
    """(responses written, responses held)."""
    responses = int(await h.pool.fetchval("SELECT count(*) FROM responses"))
    held = int(await h.pool.fetchval("SELECT count(*) FROM held_responses"))
    return responses, held


async def test_answers_wait_for_k_then_share_one_transaction(batching: Harness) -> None:
    h = batching
    wave = await employee_wave(h, {"n1": 7})
    keys = [uuid.uuid4().hex for _ in wave.tokens]
    replies = [await _submit(h, wave.tokens[i], keys[i], COMMENT) for i in range(4)]
    assert all(r.response_id for r in replies)  # confirmed at once
    assert await _counts(h) == (0, 4)
    # Nothing about the held answers is readable, and no event went out yet.
    dump = await h.pool.fetchval("SELECT string_agg(h::text, ' ') FROM held_responses h")
    assert "Maria" not in dump
    assert replies[0].response_id not in dump
    assert await h.pool.fetchval("SELECT count(*) FROM outbox") == 0
    # A retry while held gets the same receipt, and adds nothing.
    again = await _submit(h, wave.tokens[0], keys[0])
    assert again.replayed
    assert again.response_id == replies[0].response_id
    assert await _counts(h) == (0, 4)

    replies.append(await _submit(h, wave.tokens[4], keys[4], COMMENT))
    rows = await h.pool.fetch("SELECT response_id::text AS id, xmin::text AS x FROM responses")
    assert {r["id"] for r in rows} == {r.response_id for r in replies}
    assert len({r["x"] for r in rows}) == 1  # one transaction: one xid, one commit time
    assert await h.pool.fetchval("SELECT count(*) FROM held_responses") == 0
    # Comments were stored redacted: the raw text is not kept anywhere.
    texts = [r["text"] for r in await h.pool.fetch("SELECT text FROM comments")]
    assert len(texts) == 5
    assert not [t for t in texts if "Maria" in t or "1234567" in t or "@" in t], texts
    await outbox_drained(h.pool)


async def test_a_writer_failing_half_way_and_a_restart_lose_nothing(batching: Harness) -> None:
    h = batching
    wave = await employee_wave(h, {"n1": 6})
    # The batch writer dies on the third row it writes (a real failure inside its
    # transaction): the accepted answers must survive it.
    await h.pool.execute(
        "CREATE FUNCTION fail_third() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN IF (SELECT count(*) FROM responses) >= 2 THEN"
        " RAISE EXCEPTION 'writer killed'; END IF; RETURN NEW; END $$;"
        " CREATE TRIGGER fail_third BEFORE INSERT ON responses"
        " FOR EACH ROW EXECUTE FUNCTION fail_third()"
    )
    replies = [await _submit(h, wave.tokens[i], uuid.uuid4().hex) for i in range(5)]
    assert all(r.response_id and not r.replayed for r in replies)  # confirmed all the same
    assert await _counts(h) == (0, 5)

    # The service stops (held answers on disk only) and starts again; the sweep writes
    # the batch that is now due.
    await h.pool.execute("DROP TRIGGER fail_third ON responses; DROP FUNCTION fail_third()")
    await h.stack.restart("response", RESPONSE)
    await _wait_written(h, 5)
    ids = {str(r["response_id"]) for r in await h.pool.fetch("SELECT response_id FROM responses")}
    assert ids == {r.response_id for r in replies}
    await outbox_drained(h.pool)


async def test_closing_the_wave_writes_a_group_below_k(batching: Harness) -> None:
    h = batching
    wave = await employee_wave(h, {"n1": 6})
    await _submit(h, wave.tokens[0], uuid.uuid4().hex)
    await _submit(h, wave.tokens[1], uuid.uuid4().hex)
    assert await _counts(h) == (0, 2)
    await h.survey.CloseWave(survey_pb.CloseWaveRequest(wave_id=wave.wave_id))
    await _wait_written(h, 2)
    rows = await h.pool.fetch("SELECT xmin::text AS x FROM responses")
    assert len({r["x"] for r in rows}) == 1


async def _wait_written(h: Harness, n: int, timeout_s: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while await _counts(h) != (n, 0):
        if loop.time() > deadline:
            raise AssertionError(f"held answers not written: {await _counts(h)}")
        await asyncio.sleep(0.2)
