"""RedeemToken in one statement (issue 20): the key hash is computed in SQL from the
service's keyed key (the secret never reaches SQL) and bound to the invitation; retries with
the same key get the same grant, also for invitations redeemed before (older hash)."""

from __future__ import annotations

import grpc
from pulse.events.v1 import events_pb2
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse_common.errors import INVALID_TOKEN_MESSAGE
from pulse_common.rpc_limits import MAX_REDEMPTIONS
from pulse_survey.tokens import (
    bound_redemption_key_hash,
    keyed_redemption_key,
    redemption_key_hash,
    same_redemption_key,
)
from pulse_testing.survey import (
    Survey,
    import_roster,
    invitation_events,
    make_org,
    open_wave,
    published_survey,
    rows,
    rpc_error,
)


async def _invited(survey: Survey, people: int) -> list[events_pb2.InvitationIssued]:
    """An org, a roster of ``people`` in unit n1, a published survey and an open wave; returns
    the wave's InvitationIssued events (one per person)."""
    await make_org(survey.stub)
    await import_roster(survey.stub, rows({"n1": people}))
    definition = await published_survey(survey.stub)
    await open_wave(survey.stub, definition.survey_id)
    return await invitation_events(survey, people)


def test_either_kept_hash_recognises_its_key_only() -> None:
    keyed = keyed_redemption_key("s3cret", "key-0001")
    current = bound_redemption_key_hash("inv-1", keyed)
    older = redemption_key_hash("s3cret", "inv-1", "key-0001")
    for stored in (current, older):
        assert same_redemption_key("s3cret", "inv-1", "key-0001", stored)
        assert not same_redemption_key("s3cret", "inv-1", "key-0002", stored)
        assert not same_redemption_key("s3cret", "inv-2", "key-0001", stored)
        assert not same_redemption_key("other", "inv-1", "key-0001", stored)


async def test_redeem_is_one_statement_and_keeps_only_a_bound_hash(survey: Survey) -> None:
    issued = await _invited(survey, 3)
    first, second = issued[0], issued[1]
    grant = (
        await survey.stub.RedeemToken(
            pb.RedeemTokenRequest(token=first.token, redemption_key="key-0001")
        )
    ).grant
    stored = await survey.pool.fetchval(
        "SELECT redemption_key_hash FROM survey.invitations WHERE invitation_id = $1::uuid",
        first.invitation_id,
    )
    secret = survey.settings.hmac_secret
    keyed = keyed_redemption_key(secret, "key-0001")
    assert stored == bound_redemption_key_hash(first.invitation_id, keyed)
    assert secret not in stored
    assert "key-0001" not in stored
    again = await survey.stub.RedeemToken(
        pb.RedeemTokenRequest(token=first.token, redemption_key="key-0001")
    )
    assert again.grant == grant
    error = await rpc_error(
        survey.stub.RedeemToken(pb.RedeemTokenRequest(token=first.token, redemption_key="key-0002"))
    )
    assert (error.code(), error.details()) == (
        grpc.StatusCode.UNAUTHENTICATED,
        INVALID_TOKEN_MESSAGE,
    )

    # An invitation redeemed before this change keeps the older hash: its retry still works.
    await survey.stub.RedeemToken(
        pb.RedeemTokenRequest(token=second.token, redemption_key="key-0003")
    )
    await survey.pool.execute(
        "UPDATE survey.invitations SET redemption_key_hash = $2 WHERE invitation_id = $1::uuid",
        second.invitation_id,
        redemption_key_hash(secret, second.invitation_id, "key-0003"),
    )
    retried = await survey.stub.RedeemToken(
        pb.RedeemTokenRequest(token=second.token, redemption_key="key-0003")
    )
    assert retried.grant.unit_id == "n1"
    error = await rpc_error(
        survey.stub.RedeemToken(
            pb.RedeemTokenRequest(token=second.token, redemption_key="key-0004")
        )
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert await survey.pool.fetchval("SELECT count(*) FROM survey.invitations WHERE redeemed") == 2


async def test_redeem_tokens_answers_each_as_redeem_token_would(survey: Survey) -> None:
    issued = await _invited(survey, 4)
    alone = await survey.stub.RedeemToken(
        pb.RedeemTokenRequest(token=issued[0].token, redemption_key="key-0100")
    )
    reply = await survey.stub.RedeemTokens(
        pb.RedeemTokensRequest(
            redemptions=[
                pb.RedeemTokenRequest(token=issued[1].token, redemption_key="key-0101"),
                pb.RedeemTokenRequest(token="not-a-token", redemption_key="key-0102"),
                pb.RedeemTokenRequest(token=issued[2].token, redemption_key="short"),
                pb.RedeemTokenRequest(token=issued[0].token, redemption_key="key-0100"),
                pb.RedeemTokenRequest(token=issued[0].token, redemption_key="key-0103"),
                pb.RedeemTokenRequest(token=issued[3].token, redemption_key="key-0104"),
            ]
        )
    )
    granted, unknown, short, retried, other_key, last = reply.outcomes
    assert (granted.code, granted.grant.unit_id) == (0, "n1")
    assert (unknown.code, unknown.message) == (
        grpc.StatusCode.UNAUTHENTICATED.value[0],
        INVALID_TOKEN_MESSAGE,
    )
    assert (short.code, short.field) == (
        grpc.StatusCode.INVALID_ARGUMENT.value[0],
        "redemption_key",
    )
    assert (retried.code, retried.grant) == (0, alone.grant)  # same key: same grant
    assert other_key.code == grpc.StatusCode.UNAUTHENTICATED.value[0]
    assert (last.code, last.grant.unit_id) == (0, "n1")  # the refusals failed nobody else
    redeemed = await survey.pool.fetchval("SELECT count(*) FROM survey.invitations WHERE redeemed")
    assert redeemed == 3  # issued[2] (bad key) untouched

    error = await rpc_error(
        survey.stub.RedeemTokens(
            pb.RedeemTokensRequest(redemptions=[pb.RedeemTokenRequest()] * (MAX_REDEMPTIONS + 1))
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "redemptions" in (error.details() or "")
