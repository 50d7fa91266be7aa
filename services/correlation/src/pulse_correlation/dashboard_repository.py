"""SQL of the dashboard's read cache: how far the aggregates of a range have grown, and the
groups released to a viewer after a known one."""

from __future__ import annotations

from pulse_common.db import Connection

from pulse_correlation.confidentiality import Group


async def data_version(conn: Connection, period_from: str, period_to: str) -> tuple[int, int]:
    """(rows, responses) of agg_population in the range: every counted response adds one to
    it in the same transaction as its construct and item sums, so an unchanged pair means
    unchanged sums (the aggregates only ever grow)."""
    row = await conn.fetchrow(
        "SELECT count(*) AS cells, coalesce(sum(n), 0) AS n FROM agg_population"
        " WHERE ($1 = '' OR period >= $1) AND ($2 = '' OR period <= $2)",
        period_from,
        period_to,
    )
    assert row is not None
    return int(row["cells"]), int(row["n"])


async def released_since(
    conn: Connection, viewer_id: str, after_id: int
) -> tuple[int, list[Group]]:
    """Groups released to ``viewer_id`` with an id above ``after_id`` (every measure), and
    the largest id seen (``after_id`` when none)."""
    rows = await conn.fetch(
        "SELECT id, measure, cells, cell_counts FROM released_groups"
        " WHERE viewer_id = $1 AND id > $2 ORDER BY id",
        viewer_id,
        after_id,
    )
    groups = [
        Group(r["measure"], dict(zip(r["cells"], map(int, r["cell_counts"]), strict=True)))
        for r in rows
    ]
    return (int(rows[-1]["id"]) if rows else after_id), groups


async def last_released_id(conn: Connection, viewer_id: str) -> int:
    value = await conn.fetchval(
        "SELECT coalesce(max(id), 0) FROM released_groups WHERE viewer_id = $1", viewer_id
    )
    return int(value)
