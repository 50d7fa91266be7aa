"""Processed-message ledger: makes a consumer's effect happen once per message id."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pulse_common.db import Connection


async def claim_message(conn: Connection, msg_id: str, subject: str) -> bool:
    """Inside the handler's transaction: True the first time ``msg_id`` is seen, False on a
    redelivery (then the handler must do nothing). The row commits with the effect."""
    inserted = await conn.fetchval(
        "INSERT INTO processed_messages (msg_id, subject) VALUES ($1, $2)"
        " ON CONFLICT (msg_id) DO NOTHING RETURNING true",
        msg_id,
        subject,
    )
    return bool(inserted)


async def claim_messages(conn: Connection, msg_ids: Sequence[str], subject: str) -> set[str]:
    """``claim_message`` for a batch in one statement: the ids seen for the first time (an
    id twice in ``msg_ids`` is claimed once). Ids are inserted in sorted order, so
    concurrent batches wait for each other's uncommitted claims without deadlocking."""
    rows = await conn.fetch(
        "INSERT INTO processed_messages (msg_id, subject)"
        " SELECT id, $2 FROM unnest($1::text[]) AS t(id) ORDER BY id"
        " ON CONFLICT (msg_id) DO NOTHING RETURNING msg_id",
        sorted(set(msg_ids)),
        subject,
    )
    return {r["msg_id"] for r in rows}


def retention_days(max_age_s: float, duplicate_window_s: float) -> int | None:
    """How many days a consumer's ledger rows must be kept; None: forever.

    A message reaches a consumer again only (a) while its stream still holds it (a
    redelivery, a consumer reset or replay from the start) or (b) when a relay re-publishes
    it after crashing between publish and delete, which JetStream drops as a duplicate
    within ``duplicate_window_s`` and which otherwise happens when that relay comes back,
    long before the stream's ``max_age``. A stream without ``max_age`` keeps every message,
    so a consumer reset could deliver any of them again: its ledger is kept forever. With
    ``max_age``, a row older than max_age + duplicate window can no longer match a message
    that can be delivered; one day more covers ``processed_on`` being a date."""
    if max_age_s <= 0:
        return None
    return math.ceil((max_age_s + duplicate_window_s) / 86_400) + 1


async def purge_processed(conn: Connection, keep_days: int) -> int:
    """Delete ledger rows processed more than ``keep_days`` days ago; how many."""
    result = await conn.execute(
        "DELETE FROM processed_messages WHERE processed_on < current_date - $1::int", keep_days
    )
    return int(result.split()[-1])
