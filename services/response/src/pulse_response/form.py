"""GetForm: what a token's holder is asked (the rotation subset when the grant names one)."""

from __future__ import annotations

from dataclasses import dataclass

from pulse.types.v1 import types_pb2
from pulse_common import errors

from pulse_response.context import Deps
from pulse_response.submission import require_token


@dataclass(frozen=True)
class Form:
    definition: types_pb2.SurveyDefinition
    items: list[types_pb2.Item]
    unit_name: str
    expires_at: str


async def get_form(deps: Deps, token: str) -> Form:
    grant = await deps.survey.inspect(require_token(token))
    definition = await deps.definitions.get(grant.survey_id, grant.survey_version)
    if definition is None:
        raise errors.Unavailable("this survey is not available yet; please try again")
    asked = set(grant.item_ids)
    return Form(
        definition=definition,
        items=[item for item in definition.items if not asked or item.item_id in asked],
        unit_name=await deps.survey.unit_name(grant.unit_id),
        expires_at=grant.expires_at,
    )
