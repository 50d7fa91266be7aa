"""The form grant (issue 20): GetForm seals what the token grants, Submit takes it back and
calls the survey service once. A missing, altered, foreign or expired seal falls back to
inspecting the token; no seal lets anyone answer items they were not asked."""

from __future__ import annotations

import time
import uuid

import grpc
from pulse.response.v1 import response_service_pb2 as pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2 as t
from pulse_response import form_grant
from pulse_testing.response import Harness, employee_answers, employee_wave, rpc_error

NOW = 1_790_000_000.0  # 2026-09, before the grants expire


def grant(**fields: object) -> survey_pb.TokenGrant:
    base: dict[str, object] = {
        "survey_id": "s1",
        "survey_version": 2,
        "unit_id": "n1",
        "period": "2026-12",
        "item_ids": ["a", "b"],
        "expires_at": "2027-01-15T00:00:00+00:00",
    }
    base.update(fields)
    return survey_pb.TokenGrant(**base)  # type: ignore[arg-type]


def test_a_seal_opens_for_its_token_under_its_key_until_it_expires() -> None:
    key = form_grant.grant_key("secret")
    sealed = form_grant.seal_grant(key, "token-a", grant(), NOW)
    assert form_grant.open_grant(key, "token-a", sealed, NOW) == grant()
    assert form_grant.open_grant(key, "token-b", sealed, NOW) is None  # another token
    assert form_grant.open_grant(form_grant.grant_key("other"), "token-a", sealed, NOW) is None
    altered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    assert form_grant.open_grant(key, "token-a", altered, NOW) is None
    assert form_grant.open_grant(key, "token-a", b"", NOW) is None
    assert form_grant.open_grant(key, "token-a", b"x" * 5000, NOW) is None
    late = NOW + form_grant.MAX_AGE_S + 1
    assert form_grant.open_grant(key, "token-a", sealed, late) is None


def test_a_seal_expires_with_its_token() -> None:
    key = form_grant.grant_key("secret")
    token_expiry = time.time() + 60
    expiring = grant(expires_at=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(token_expiry)))
    sealed = form_grant.seal_grant(key, "token-a", expiring, time.time())
    assert form_grant.open_grant(key, "token-a", sealed, token_expiry - 5) is not None
    assert form_grant.open_grant(key, "token-a", sealed, token_expiry + 1) is None


def test_same_questions_compares_version_kind_and_items() -> None:
    assert form_grant.same_questions(grant(), grant(unit_id="other", period="2027-01"))
    assert not form_grant.same_questions(grant(), grant(item_ids=["a"]))
    assert not form_grant.same_questions(grant(), grant(survey_version=3))
    assert not form_grant.same_questions(grant(), grant(survey_id="s2"))


def secret_of(harness: Harness) -> str:
    return str(harness.stack.services["response"].context.settings.hmac_secret)


async def redeemed(harness: Harness) -> int:
    return int(
        await harness.survey_pool.fetchval("SELECT count(*) FROM invitations WHERE redeemed")
    )


async def test_submit_with_the_form_grant_stores_once_and_replays(harness: Harness) -> None:
    wave = await employee_wave(harness, {"n1": 1})
    token = wave.tokens[0]
    form = await harness.response.GetForm(pb.GetFormRequest(token=token))
    assert form.form_grant
    assert token.encode() not in form.form_grant
    assert b"n1" not in form.form_grant
    request = pb.SubmitRequest(
        token=token,
        answers=employee_answers(),
        idempotency_key=uuid.uuid4().hex,
        form_grant=form.form_grant,
    )
    first = await harness.response.Submit(request)
    again = await harness.response.Submit(request)
    assert not first.replayed
    assert again.replayed
    assert again.response_id == first.response_id
    assert first.survey_id == wave.definition.survey_id
    assert await harness.pool.fetchval("SELECT count(*) FROM idempotency") == 1


async def test_an_unusable_seal_is_ignored_never_an_error(harness: Harness) -> None:
    wave = await employee_wave(harness, {"n1": 3})
    other_form = await harness.response.GetForm(pb.GetFormRequest(token=wave.tokens[2]))
    for token, seal in (
        (wave.tokens[0], b"not a seal at all"),
        (wave.tokens[1], other_form.form_grant),  # another token's seal
    ):
        reply = await harness.response.Submit(
            pb.SubmitRequest(
                token=token,
                answers=employee_answers(),
                idempotency_key=uuid.uuid4().hex,
                form_grant=seal,
            )
        )
        assert not reply.replayed
    assert await redeemed(harness) == 2


async def test_a_forged_seal_cannot_widen_what_is_asked(harness: Harness) -> None:
    """An attacker seals a grant asking every item (under a guessed key): it does not open,
    the token is inspected, the rotation holds and nothing is consumed."""
    wave = await employee_wave(harness, {"n1": 1}, rotation=1)
    token = wave.tokens[0]
    form = await harness.response.GetForm(pb.GetFormRequest(token=token))
    shown = {item.item_id for item in form.items}
    not_shown = [i.item_id for i in wave.definition.items if i.item_id not in shown]
    assert not_shown
    everything = survey_pb.TokenGrant(
        survey_id=wave.definition.survey_id,
        survey_version=wave.definition.version,
        kind=t.SURVEY_KIND_EMPLOYEE_PULSE,
        expires_at=form.expires_at,
    )
    forged = form_grant.seal_grant(
        form_grant.grant_key("a guessed secret"), token, everything, time.time()
    )
    request = pb.SubmitRequest(
        token=token,
        answers=[*employee_answers(), t.Answer(item_id=not_shown[0], score=3)],
        idempotency_key=uuid.uuid4().hex,
        form_grant=forged,
    )
    error = await rpc_error(harness.response.Submit(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "was not asked" in (error.details() or "")
    assert await redeemed(harness) == 0
    # Even a seal under the real key that claims more than the token asks does not decide:
    # the redeemed grant does, and the answers are checked against it.
    genuine_but_wrong = form_grant.seal_grant(
        form_grant.grant_key(secret_of(harness)), token, everything, time.time()
    )
    request.form_grant = genuine_but_wrong
    error = await rpc_error(harness.response.Submit(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "was not asked" in (error.details() or "")
    assert await harness.pool.fetchval("SELECT count(*) FROM responses") == 0
    assert await harness.pool.fetchval("SELECT count(*) FROM idempotency") == 0
