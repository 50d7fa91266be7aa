"""SQL of the differencing ledger: the groups released to each viewer."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from pulse_common.db import Connection

from pulse_correlation.confidentiality import Group


async def lock_viewer(conn: Connection, viewer_id: str) -> None:
    """Serialise releases to one viewer (held until the transaction ends)."""
    key = int.from_bytes(hashlib.sha256(f"viewer:{viewer_id}".encode()).digest()[:8], "big")
    await conn.execute("SELECT pg_advisory_xact_lock($1)", key - (1 << 63))


async def released_groups(conn: Connection, viewer_id: str, measures: Iterable[str]) -> list[Group]:
    rows = await conn.fetch(
        "SELECT measure, cells, cell_counts FROM released_groups"
        " WHERE viewer_id = $1 AND measure = ANY($2::text[]) ORDER BY id",
        viewer_id,
        sorted(set(measures)),
    )
    return [
        Group(r["measure"], dict(zip(r["cells"], map(int, r["cell_counts"]), strict=True)))
        for r in rows
    ]


async def record_groups(
    conn: Connection, viewer_id: str, groups: Iterable[Group], source: str
) -> None:
    """Remember released groups (a repeat of the same cells and counts is stored once)."""
    rows = []
    for g in groups:
        cells = g.cells
        counts = [g.counts[c] for c in cells]
        digest = hashlib.sha256(f"{g.member_hash}:{counts}".encode()).hexdigest()
        rows.append((viewer_id, g.measure, digest, cells, counts, g.n, source))
    await conn.executemany(
        "INSERT INTO released_groups (viewer_id, measure, member_hash, cells, cell_counts, n,"
        " source) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (viewer_id, measure, member_hash) DO NOTHING",
        rows,
    )
