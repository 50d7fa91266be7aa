"""SQL of the reads: response counts per unit or group, a group's comments and consented
customer praise. Returns frozen records; what may be released is decided by the caller."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from pulse.types.v1 import types_pb2

from pulse_response.domain import Comment, Group, Praise, UnitCount

CUSTOMER_KIND = int(types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION)
# Live and imported rows apart (imports may only add history, see ``import_rules``).
IMPORTED_COUNT = "count(*) FILTER (WHERE source = 'import') AS imported"


@dataclass(frozen=True)
class WaveCounts:
    """Responses per unit of a wave, and the survey the wave belongs to ("" when none)."""

    survey_id: str
    units: list[UnitCount]


async def counts_by_wave(conn: asyncpg.Connection, wave_id: str) -> WaveCounts:
    rows = await conn.fetch(
        "SELECT unit_id, count(*) AS n, min(survey_id) AS survey_id,"
        f" {IMPORTED_COUNT} FROM responses WHERE wave_id = $1 GROUP BY unit_id ORDER BY unit_id",
        wave_id,
    )
    survey_id = str(rows[0]["survey_id"]) if rows else ""
    return WaveCounts(survey_id, [_unit_count(r) for r in rows])


async def counts_by_survey_period(
    conn: asyncpg.Connection, survey_id: str, period: str
) -> list[UnitCount]:
    rows = await conn.fetch(
        f"SELECT unit_id, count(*) AS n, {IMPORTED_COUNT} FROM responses"
        " WHERE survey_id = $1 AND period = $2 GROUP BY unit_id ORDER BY unit_id",
        survey_id,
        period,
    )
    return [_unit_count(r) for r in rows]


def _unit_count(row: asyncpg.Record) -> UnitCount:
    return UnitCount(str(row["unit_id"]), int(row["n"]), int(row["imported"]))


async def group_size(conn: asyncpg.Connection, survey_id: str, group: Group) -> int:
    value = await conn.fetchval(
        "SELECT count(*) FROM responses WHERE survey_id = $1 AND unit_id = $2 AND period = $3",
        survey_id,
        group.unit_id,
        group.period,
    )
    return int(value)


async def comments_of_group(
    conn: asyncpg.Connection, survey_id: str, group: Group
) -> list[Comment]:
    # Ordered by text, not by insertion, so the order reveals nothing about who wrote first.
    rows = await conn.fetch(
        "SELECT item_id, text FROM comments WHERE survey_id = $1 AND unit_id = $2"
        " AND period = $3 ORDER BY item_id, text",
        survey_id,
        group.unit_id,
        group.period,
    )
    return [Comment(str(r["item_id"]), str(r["text"])) for r in rows]


async def customer_counts_by_group(
    conn: asyncpg.Connection, unit_ids: list[str] | None, period_from: str, period_to: str
) -> dict[Group, int]:
    """Customer responses per group in the period range, for the given units (None: all)."""
    rows = await conn.fetch(
        "SELECT unit_id, period, count(*) AS n FROM responses WHERE kind = $1"
        " AND period >= $2 AND period <= $3"
        " AND ($4::text[] IS NULL OR unit_id = ANY($4::text[]))"
        " GROUP BY unit_id, period",
        CUSTOMER_KIND,
        period_from,
        period_to,
        unit_ids,
    )
    return {Group(str(r["unit_id"]), str(r["period"])): int(r["n"]) for r in rows}


def _praise(row: asyncpg.Record) -> Praise:
    return Praise(
        Group(str(row["unit_id"]), str(row["period"])),
        str(row["text"]),
        int(row["staff_treatment_score"]),
        str(row["comment_id"]),
        str(row["moderation"]),
    )


_PRAISE = (
    "SELECT c.comment_id, c.unit_id, c.period, c.text, c.staff_treatment_score, c.moderation"
    " FROM comments c"
)


async def praise_of_groups(
    conn: asyncpg.Connection, groups: list[Group], status: str, limit: int, *, best_first: bool
) -> list[Praise]:
    """Consented praise in ``status`` from the given groups: newest period first, then unit,
    then text; or (``best_first``) the best rated first, then the newest."""
    if not groups:
        return []
    order = (
        "c.staff_treatment_score DESC, c.period DESC, c.unit_id, c.text"
        if best_first
        else "c.period DESC, c.unit_id, c.text"
    )
    rows = await conn.fetch(
        _PRAISE + " JOIN unnest($1::text[], $2::text[]) AS g(unit_id, period)"
        " ON c.unit_id = g.unit_id AND c.period = g.period"
        f" WHERE c.shared_with_team AND c.positive AND c.moderation = $3 ORDER BY {order}"
        " LIMIT $4",
        [group.unit_id for group in groups],
        [group.period for group in groups],
        status,
        limit,
    )
    return [_praise(row) for row in rows]


async def praise_entry(conn: asyncpg.Connection, entry_id: str) -> Praise | None:
    """One shared praise comment by id (None when there is none, or it is no praise)."""
    row = await conn.fetchrow(
        _PRAISE + " WHERE c.comment_id = $1::uuid AND c.shared_with_team AND c.positive",
        entry_id,
    )
    return None if row is None else _praise(row)
