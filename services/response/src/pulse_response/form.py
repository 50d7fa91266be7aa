"""GetForm: what a token's holder is asked (the rotation subset when the grant names one).

A browser that sent the form once passes that submit's idempotency key again. When the link
was redeemed by that key but the answers were never stored (the submit failed between the
redemption and the commit), the form is shown again: the respondent sends it again with the
same key and the submit completes. When the answers were stored, the form says so
(ALREADY_EXISTS) instead of calling the link used."""

from __future__ import annotations

import time
from dataclasses import dataclass

from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2
from pulse_common import errors
from pulse_common.measures import is_customer

from pulse_response import form_grant, repository
from pulse_response.context import Deps
from pulse_response.idempotency import key_hash
from pulse_response.submission import idempotency_key_problem, require_token

ALREADY_SUBMITTED = "these answers have already been received; thank you"


@dataclass(frozen=True)
class Form:
    definition: types_pb2.SurveyDefinition
    items: list[types_pb2.Item]
    unit_name: str
    expires_at: str
    language: str = ""  # the invitation's language ("" = the survey's own)
    channel: str = ""  # customers: the interaction's channel
    form_grant: bytes = b""  # the grant sealed for Submit (``form_grant``)


async def get_form(deps: Deps, token: str, idempotency_key: str = "") -> Form:
    grant = await _grant(deps, require_token(token), idempotency_key)
    definition = await deps.definitions.get(grant.survey_id, grant.survey_version)
    if definition is None:
        raise errors.Unavailable("this survey is not available yet; please try again")
    asked = set(grant.item_ids)
    return Form(
        definition=definition,
        items=[item for item in definition.items if not asked or item.item_id in asked],
        unit_name=await deps.survey.unit_name(grant.unit_id),
        expires_at=grant.expires_at,
        language=grant.language,
        channel=grant.channel if is_customer(grant.kind) else "",
        form_grant=form_grant.seal_grant(
            form_grant.grant_key(deps.settings.common.hmac_secret), token, grant, time.time()
        ),
    )


async def _grant(deps: Deps, token: str, key: str) -> survey_pb.TokenGrant:
    try:
        return await deps.survey.inspect(token)
    except errors.Unauthenticated:
        if not key or idempotency_key_problem(key) is not None:
            raise
    # Used (or unknown, or expired): stored answers under this key are a finished submit;
    # otherwise only the key that redeemed the link gets its grant back (redeeming again
    # with the same key changes nothing), anyone else the one invalid-token error.
    async with deps.db.connection() as conn:
        stored = await repository.find_reply(conn, key_hash(key))
    if stored is not None:
        raise errors.AlreadyExists(ALREADY_SUBMITTED)
    return await deps.survey.redeem(token, key)
