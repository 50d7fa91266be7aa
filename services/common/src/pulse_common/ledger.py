"""Processed-message ledger: makes a consumer's effect happen once per message id."""

from __future__ import annotations

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
