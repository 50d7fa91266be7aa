"""SQL of deliveries: what a mailing needs to be written (survey, unit name, k) and the
outcome recorded per invitation and mailing (table ``deliveries``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from pulse_common.db import Connection

from pulse_survey.definitions import parse_definition
from pulse_survey.delivery import Outcome


@dataclass(frozen=True)
class MailingFacts:
    kind: int
    survey_name: str
    min_group_size: int
    unit_name: str
    channel: str
    language: str  # the invitation's ("" = the survey's own)
    survey_language: str
    # The survey's name in further languages (language -> name).
    survey_names: dict[str, str] = field(default_factory=dict)


async def mailing_facts(conn: Connection, invitation_id: str, today: date) -> MailingFacts | None:
    """The invitation's survey (name, k), its unit's name as of ``today`` and its language;
    None when the invitation is unknown."""
    row = await conn.fetchrow(
        "SELECT i.kind, i.channel, i.language, i.unit_id, v.definition,"
        " (SELECT o.name FROM org_versions o WHERE o.unit_id = i.unit_id AND o.valid_from <= $2"
        "  ORDER BY o.valid_from DESC LIMIT 1) AS unit_name"
        " FROM invitations i JOIN survey_versions v"
        " ON v.survey_id = i.survey_id AND v.version = i.survey_version"
        " WHERE i.invitation_id = $1",
        uuid.UUID(invitation_id),
        today,
    )
    if row is None:
        return None
    definition = parse_definition(bytes(row["definition"]))
    return MailingFacts(
        kind=int(row["kind"]),
        survey_name=definition.name,
        min_group_size=definition.min_group_size,
        unit_name=row["unit_name"] or row["unit_id"],
        channel=row["channel"],
        language=row["language"],
        survey_language=definition.language,
        survey_names=dict(definition.name_translations),
    )


async def record_outcome(
    conn: Connection, invitation_id: str, mailing: int, adapter: str, outcome: Outcome
) -> None:
    await conn.execute(
        "INSERT INTO deliveries (invitation_id, mailing, adapter, status, attempts, detail)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (invitation_id, mailing) DO UPDATE SET"
        " adapter = EXCLUDED.adapter, status = EXCLUDED.status, attempts = EXCLUDED.attempts,"
        " detail = EXCLUDED.detail",
        uuid.UUID(invitation_id),
        mailing,
        adapter,
        outcome.status,
        outcome.attempts,
        outcome.detail,
    )
