"""SQL of the dated "serves" links (internal customers) learnt from ``pulse.org.serves``."""

from __future__ import annotations

from pulse_common.db import Connection

from pulse_correlation.chain_model import ServesLink


async def save_link(conn: Connection, link: ServesLink) -> None:
    """Idempotent: the survey service sends the link's latest state (an end date when ended)."""
    await conn.execute(
        "INSERT INTO serves (serving_unit_id, served_unit_id, valid_from, valid_to)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (serving_unit_id, served_unit_id, valid_from)"
        " DO UPDATE SET valid_to = EXCLUDED.valid_to",
        link.serving_unit_id,
        link.served_unit_id,
        link.valid_from,
        link.valid_to,
    )


async def load_links(conn: Connection) -> list[ServesLink]:
    rows = await conn.fetch(
        "SELECT serving_unit_id, served_unit_id, valid_from, valid_to FROM serves"
    )
    return [
        ServesLink(r["serving_unit_id"], r["served_unit_id"], r["valid_from"], r["valid_to"])
        for r in rows
    ]
