"""Tokens as the response service sees them: Inspect (no effect) and Redeem (consumes the
invitation atomically; a retry with the same key gets the same grant). Unknown, used and
expired tokens all raise the one ``invalid_token()`` error."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from pulse_common.errors import FailedPrecondition, invalid_token

from pulse_survey import domain
from pulse_survey import invitation_repository as repo
from pulse_survey.context import Deps
from pulse_survey.invitations import redemption_key_hash
from pulse_survey.tokens import token_hash, well_formed


@dataclass(frozen=True)
class Grant:
    survey_id: str
    survey_version: int
    kind: int
    unit_id: str
    period: str
    wave_id: str
    channel: str
    item_ids: list[str]
    expires_at: str


def _grant(row: asyncpg.Record) -> Grant:
    return Grant(
        survey_id=str(row["survey_id"]),
        survey_version=row["survey_version"],
        kind=row["kind"],
        unit_id=row["unit_id"],
        period=row["period"],
        wave_id=str(row["wave_id"]) if row["wave_id"] else "",
        channel=row["channel"],
        item_ids=list(row["item_ids"]),
        expires_at=domain.rfc3339(row["expires_at"]),
    )


def _check_usable(row: asyncpg.Record | None, now: datetime) -> asyncpg.Record:
    if row is None or row["redeemed"] or row["expires_at"] <= now:
        raise invalid_token()
    if row["wave_status"] == "closed":
        raise FailedPrecondition("this survey has closed")
    return row


async def inspect(deps: Deps, token: str) -> Grant:
    if not well_formed(token):
        raise invalid_token()
    row = await repo.by_token(deps.pool, token_hash(token))
    return _grant(_check_usable(row, deps.now()))


async def redeem(deps: Deps, token: str, key: str) -> Grant:
    if not well_formed(token):
        raise invalid_token()
    async with deps.transaction() as conn:
        row = await repo.by_token(conn, token_hash(token), for_update=True)
        if row is not None and row["redeemed"]:
            expected = redemption_key_hash(
                deps.settings.hmac_secret, str(row["invitation_id"]), key
            )
            if hmac.compare_digest(row["redemption_key_hash"] or "", expected):
                return _grant(row)  # the same caller retrying: same answer
            raise invalid_token()
        row = _check_usable(row, deps.now())
        await repo.mark_redeemed(
            conn,
            row["invitation_id"],
            redemption_key_hash(deps.settings.hmac_secret, str(row["invitation_id"]), key),
        )
    return _grant(row)
