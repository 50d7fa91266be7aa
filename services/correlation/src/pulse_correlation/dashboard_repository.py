"""SQL of the dashboard's read cache: how far the aggregates of a range have grown."""

from __future__ import annotations

from pulse_common.db import Connection


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
