"""No answer lost between redeem and commit (issue 14): a submit that redeemed the link but
never committed leaves the link usable again by the same idempotency key, and only by it;
GetForm shows the form to that key again, and says ALREADY_EXISTS once the answers are in."""

from __future__ import annotations

import uuid

import grpc
from pulse.response.v1 import response_service_pb2 as pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse_response.form import ALREADY_SUBMITTED
from pulse_testing.response import Harness, employee_answers, employee_wave, rpc_error


async def test_a_link_redeemed_without_commit_is_usable_again_by_its_key(harness: Harness) -> None:
    wave = await employee_wave(harness, {"n1": 1})
    token, form_key = wave.tokens[0], uuid.uuid4().hex
    # The submit with form_key redeemed the link, then lost its database connection.
    await harness.survey.RedeemToken(
        survey_pb.RedeemTokenRequest(token=token, redemption_key=form_key)
    )
    used = await rpc_error(harness.response.GetForm(pb.GetFormRequest(token=token)))
    assert used.code() == grpc.StatusCode.UNAUTHENTICATED  # without the key: used
    stranger = await rpc_error(
        harness.response.GetForm(pb.GetFormRequest(token=token, idempotency_key=uuid.uuid4().hex))
    )
    assert stranger.code() == grpc.StatusCode.UNAUTHENTICATED
    assert stranger.details() == used.details()  # the one invalid-token message
    again = await harness.response.GetForm(pb.GetFormRequest(token=token, idempotency_key=form_key))
    assert again.definition.survey_id == wave.definition.survey_id
    reply = await harness.response.Submit(
        pb.SubmitRequest(token=token, answers=employee_answers(), idempotency_key=form_key)
    )
    assert not reply.replayed
    done = await rpc_error(
        harness.response.GetForm(pb.GetFormRequest(token=token, idempotency_key=form_key))
    )
    assert done.code() == grpc.StatusCode.ALREADY_EXISTS
    assert ALREADY_SUBMITTED in (done.details() or "")
    assert await harness.pool.fetchval("SELECT count(*) FROM responses") == 1


async def test_a_malformed_key_changes_nothing(harness: Harness) -> None:
    wave = await employee_wave(harness, {"n1": 1})
    shown = await harness.response.GetForm(
        pb.GetFormRequest(token=wave.tokens[0], idempotency_key="short")
    )
    assert shown.definition.survey_id  # an unused link: the form, the key is not needed
    await harness.survey.RedeemToken(
        survey_pb.RedeemTokenRequest(token=wave.tokens[0], redemption_key="k" * 200)
    )
    error = await rpc_error(
        harness.response.GetForm(pb.GetFormRequest(token=wave.tokens[0], idempotency_key="k" * 200))
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED  # too long to be a submit's key
