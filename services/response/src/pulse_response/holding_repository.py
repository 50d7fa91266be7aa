"""SQL of the holding area (``held_responses``, see ``holding``): hold a sealed response,
take a group's waiting responses under a lock, list the groups due for a batch."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pulse_common.db import Connection

from pulse_response.holding import HoldKey


@dataclass(frozen=True)
class Held:
    held_id: uuid.UUID
    sealed: bytes


async def hold(
    conn: Connection, key: HoldKey, batch_k: int, closes_on: date, sealed: bytes
) -> None:
    await conn.execute(
        "INSERT INTO held_responses"
        " (held_id, survey_id, wave_id, unit_id, period, batch_k, closes_on, sealed)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        uuid.uuid4(),
        key.survey_id,
        key.wave_id,
        key.unit_id,
        key.period,
        batch_k,
        closes_on,
        sealed,
    )


def _lock_id(key: HoldKey) -> int:
    digest = hashlib.sha256(b"pulse-held:" + key.associated_data()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def lock_group(conn: Connection, key: HoldKey) -> None:
    """One batch writer per group at a time (until the transaction ends): a second one
    waits, then sees what the first left (its own answer included)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _lock_id(key))


async def waiting(conn: Connection, key: HoldKey) -> tuple[list[Held], int, date | None]:
    """The group's held responses (locked), the largest batch size any of them asks for,
    and the wave's closing day."""
    rows = await conn.fetch(
        "SELECT held_id, sealed, batch_k, closes_on FROM held_responses"
        " WHERE survey_id = $1 AND wave_id = $2 AND unit_id = $3 AND period = $4"
        " FOR UPDATE",
        key.survey_id,
        key.wave_id,
        key.unit_id,
        key.period,
    )
    held = [Held(row["held_id"], bytes(row["sealed"])) for row in rows]
    k = max((int(row["batch_k"]) for row in rows), default=1)
    closes_on = min((row["closes_on"] for row in rows), default=None)
    return held, k, closes_on


async def release(conn: Connection, held_ids: Sequence[uuid.UUID]) -> None:
    await conn.execute("DELETE FROM held_responses WHERE held_id = ANY($1)", list(held_ids))


async def due_groups(conn: Connection, today: date, wave_id: str = "") -> list[HoldKey]:
    """Groups whose batch is due: at least ``batch_k`` waiting, or the wave has closed
    (its closing day has come, or ``wave_id`` names it as closed early)."""
    rows = await conn.fetch(
        "SELECT survey_id, wave_id, unit_id, period FROM held_responses"
        " GROUP BY survey_id, wave_id, unit_id, period"
        " HAVING count(*) >= max(batch_k) OR min(closes_on) <= $1 OR wave_id = $2",
        today,
        wave_id,
    )
    return [HoldKey(r["survey_id"], r["wave_id"], r["unit_id"], r["period"]) for r in rows]


async def count_waiting(conn: Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM held_responses"))
