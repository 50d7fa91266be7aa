"""SQL of what the correlation service learns from the survey service: published survey
versions and the dated org."""

from __future__ import annotations

from pulse.types.v1 import types_pb2
from pulse_common.db import Connection

from pulse_correlation.org import UnitVersion


async def save_survey(conn: Connection, definition: types_pb2.SurveyDefinition) -> None:
    await conn.execute(
        "INSERT INTO surveys (survey_id, version, kind, definition) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (survey_id, version) DO NOTHING",
        definition.survey_id,
        definition.version,
        int(definition.kind),
        definition.SerializeToString(),
    )


async def get_survey(
    conn: Connection, survey_id: str, version: int
) -> types_pb2.SurveyDefinition | None:
    raw = await conn.fetchval(
        "SELECT definition FROM surveys WHERE survey_id = $1 AND version = $2",
        survey_id,
        version,
    )
    if raw is None:
        return None
    definition = types_pb2.SurveyDefinition()
    definition.ParseFromString(bytes(raw))
    return definition


async def save_unit_version(conn: Connection, v: UnitVersion) -> None:
    """Idempotent; a higher org_version replaces the stored version for the same date."""
    await conn.execute(
        "INSERT INTO org_units (unit_id, valid_from, valid_to, parent_id, name, unit_type,"
        " change, merged_into, org_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (unit_id, valid_from) DO UPDATE SET valid_to = EXCLUDED.valid_to,"
        " parent_id = EXCLUDED.parent_id, name = EXCLUDED.name, unit_type = EXCLUDED.unit_type,"
        " change = EXCLUDED.change, merged_into = EXCLUDED.merged_into,"
        " org_version = EXCLUDED.org_version"
        " WHERE org_units.org_version < EXCLUDED.org_version",
        v.unit_id,
        v.valid_from,
        v.valid_to,
        v.parent_id,
        v.name,
        v.unit_type,
        v.change,
        v.merged_into,
        v.org_version,
    )


async def load_org(conn: Connection) -> list[UnitVersion]:
    rows = await conn.fetch(
        "SELECT unit_id, valid_from, valid_to, parent_id, name, unit_type, change,"
        " merged_into, org_version FROM org_units"
    )
    return [
        UnitVersion(
            unit_id=r["unit_id"],
            valid_from=r["valid_from"],
            valid_to=r["valid_to"],
            parent_id=r["parent_id"],
            name=r["name"],
            unit_type=r["unit_type"],
            change=r["change"],
            merged_into=r["merged_into"],
            org_version=r["org_version"],
        )
        for r in rows
    ]
