"""Tokens as the response service sees them: Inspect (no effect) and Redeem (consumes the
invitation atomically; a retry with the same key gets the same grant). Unknown, used and
expired tokens all raise the one ``invalid_token()`` error. The grant is the invitation
the token belongs to (``StoredInvitation``); the gRPC edge shows what a respondent may see."""

from __future__ import annotations

import hmac
from dataclasses import replace
from datetime import datetime

from pulse_common.errors import FailedPrecondition, invalid_token

from pulse_survey import invitation_repository as repo
from pulse_survey.context import Deps
from pulse_survey.domain import CLOSED
from pulse_survey.invitation_repository import StoredInvitation
from pulse_survey.tokens import redemption_key_hash, token_hash, well_formed


def _usable(invitation: StoredInvitation | None, now: datetime) -> StoredInvitation:
    if invitation is None or invitation.redeemed or invitation.expires_at <= now:
        raise invalid_token()
    if invitation.wave_status == CLOSED:
        raise FailedPrecondition("this survey has closed")
    return invitation


async def inspect(deps: Deps, token: str) -> StoredInvitation:
    if not well_formed(token):
        raise invalid_token()
    async with deps.db.connection() as conn:
        invitation = await repo.by_token(conn, token_hash(token))
    return _usable(invitation, deps.now())


async def redeem(deps: Deps, token: str, key: str) -> StoredInvitation:
    if not well_formed(token):
        raise invalid_token()
    secret = deps.settings.common.hmac_secret
    async with deps.db.unit_of_work() as uow:
        invitation = await repo.by_token(uow.conn, token_hash(token), for_update=True)
        if invitation is not None and invitation.redeemed:
            expected = redemption_key_hash(secret, invitation.invitation_id, key)
            if hmac.compare_digest(invitation.redemption_key_hash, expected):
                return invitation  # the same caller retrying: same answer
            raise invalid_token()
        invitation = _usable(invitation, deps.now())
        key_hash = redemption_key_hash(secret, invitation.invitation_id, key)
        await repo.mark_redeemed(uow.conn, invitation.invitation_id, key_hash)
    return replace(invitation, redeemed=True, redemption_key_hash=key_hash)
