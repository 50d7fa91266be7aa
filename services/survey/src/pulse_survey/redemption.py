"""Tokens as the response service sees them: Inspect (no effect) and Redeem (consumes the
invitation atomically; a retry with the same key gets the same grant). Unknown, used and
expired tokens all raise the one ``invalid_token()`` error. The grant is the invitation
the token belongs to (``StoredInvitation``) with the items its holder is asked, derived
from the token (``rotation``: no table stores them); the gRPC edge shows what a respondent
may see."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from pulse_common.db import Connection
from pulse_common.errors import FailedPrecondition, invalid_token

from pulse_survey import invitation_repository as repo
from pulse_survey import survey_repository
from pulse_survey.context import Deps
from pulse_survey.definitions import item_ids, optional_item_ids, parse_definition
from pulse_survey.domain import CLOSED
from pulse_survey.invitation_repository import StoredInvitation
from pulse_survey.rotation import asked_items, rotation_draw
from pulse_survey.tokens import (
    keyed_redemption_key,
    same_redemption_key,
    token_hash,
    well_formed,
)


def _usable(invitation: StoredInvitation | None, now: datetime) -> StoredInvitation:
    if invitation is None or invitation.redeemed or invitation.expires_at <= now:
        raise invalid_token()
    if invitation.wave_status == CLOSED:
        raise FailedPrecondition("this survey has closed")
    return invitation


async def _with_items(
    conn: Connection, deps: Deps, invitation: StoredInvitation, token: str
) -> StoredInvitation:
    """``invitation`` with the items this token's holder is asked (empty: all of them)."""
    if invitation.rotation <= 0:
        return invitation
    version = await survey_repository.published(
        conn, uuid.UUID(invitation.survey_id), invitation.survey_version
    )
    if version is None:  # a wave pins a published version; nothing to rotate without it
        return invitation
    definition = parse_definition(version.definition)
    draw = rotation_draw(deps.settings.common.hmac_secret, token)
    asked = asked_items(
        item_ids(definition), optional_item_ids(definition), invitation.rotation, draw
    )
    return replace(invitation, item_ids=asked)


async def inspect(deps: Deps, token: str) -> StoredInvitation:
    if not well_formed(token):
        raise invalid_token()
    async with deps.db.connection() as conn:
        invitation = _usable(await repo.by_token(conn, token_hash(token)), deps.now())
        return await _with_items(conn, deps, invitation, token)


async def redeem(deps: Deps, token: str, key: str) -> StoredInvitation:
    """One statement (``invitation_repository.redeem``); the items of a rotating wave take
    one more read."""
    if not well_formed(token):
        raise invalid_token()
    secret = deps.settings.common.hmac_secret
    keyed = keyed_redemption_key(secret, key)
    now = deps.now()
    async with deps.db.connection() as conn:
        outcome = await repo.redeem(conn, token_hash(token), keyed, now, CLOSED)
        invitation = outcome.invitation
        if outcome.claimed:
            assert invitation is not None
            return await _with_items(conn, deps, invitation, token)
        if invitation is not None and invitation.redeemed:
            if same_redemption_key(
                secret, invitation.invitation_id, key, invitation.redemption_key_hash
            ):
                # the same caller retrying: same answer
                return await _with_items(conn, deps, invitation, token)
            raise invalid_token()
        _usable(invitation, now)  # raises: why it was not redeemed
        raise invalid_token()  # not reached: a usable invitation is claimed
