#!/usr/bin/env python3
"""The floor and echo servers of ``bench_submit.py`` (not a test).

* ``/bench.Floor/Write``: one asyncpg transaction writing the rows a customer Submit
  writes (a response, its 3 scores, an outbox row) into copies of those tables (schema
  ``floor`` of the response service's database, so nothing is relayed);
* ``/bench.Floor/Echo``: returns the request.

Run in the bench process (``Floor``) or as a process of its own, as a service is deployed:
``floor_server.py DATABASE_URL PORT_FILE`` writes its port to PORT_FILE and serves until
SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from pathlib import Path

import asyncpg
import grpc


class Floor:
    """The bare servers on raw bytes."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.server = grpc.aio.server()

    async def write(self, request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        response_id = uuid.uuid4()
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO floor.responses (response_id, survey_id, survey_version, kind,"
                " unit_id, period, wave_id, channel, source, batch_id)"
                " VALUES ($1, 's', 1, 2, 'n1', '2026-01', '', 'call', 'live', '')",
                response_id,
            )
            await conn.executemany(
                "INSERT INTO floor.response_scores (response_id, item_id, score)"
                " VALUES ($1, $2, $3)",
                [(response_id, item, 4) for item in ("csat.1", "nps.1", "staff.1")],
            )
            await conn.execute(
                "INSERT INTO floor.outbox (msg_id, subject, payload, headers)"
                " VALUES ($1, 'pulse.response.recorded', $2, '{}'::jsonb)",
                str(response_id),
                request,
            )
        return str(response_id).encode()

    async def echo(self, request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        return request

    async def start(self) -> str:
        handler = grpc.method_handlers_generic_handler(
            "bench.Floor",
            {
                "Write": grpc.unary_unary_rpc_method_handler(self.write),
                "Echo": grpc.unary_unary_rpc_method_handler(self.echo),
            },
        )
        self.server.add_generic_rpc_handlers((handler,))
        port = self.server.add_insecure_port("127.0.0.1:0")
        await self.server.start()
        return f"127.0.0.1:{port}"


async def make_floor_tables(database_url: str) -> None:
    """``floor.<table>`` like ``response.<table>`` (the response service's database)."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("CREATE SCHEMA floor")
        for table in ("responses", "response_scores", "outbox"):
            await conn.execute(f"CREATE TABLE floor.{table} (LIKE response.{table} INCLUDING ALL)")
    finally:
        await conn.close()


async def serve(database_url: str, port_file: Path) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=4, max_size=10)
    floor = Floor(pool)
    address = await floor.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    draft = port_file.with_suffix(".draft")
    await asyncio.to_thread(draft.write_text, address)
    await asyncio.to_thread(draft.replace, port_file)  # whole or not at all
    await stop.wait()
    await floor.server.stop(0.2)
    await pool.close()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], Path(sys.argv[2])))
