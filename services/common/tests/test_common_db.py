"""Migrations apply once, under an advisory lock, even when instances start together."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from pulse_common.db import Migration, apply_migrations, create_pool

MIGRATIONS = [
    Migration("test/0001.sql", "CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL);"),
    Migration("test/0002.sql", "INSERT INTO counter VALUES (1, 1);"),
]


async def test_concurrent_migrations_apply_each_file_once(database_url: str) -> None:
    pools = [await create_pool(database_url, "mig") for _ in range(4)]
    try:
        results = await asyncio.gather(*(apply_migrations(p, "mig", MIGRATIONS) for p in pools))
        assert sorted(len(r) for r in results) == [0, 0, 0, 2]
        assert await pools[0].fetchval("SELECT count(*) FROM mig.counter") == 1
        # Re-running is a no-op.
        assert await apply_migrations(pools[0], "mig", MIGRATIONS) == []
    finally:
        for pool in pools:
            await pool.close()


async def test_edited_migration_is_refused(database_url: str) -> None:
    pool = await create_pool(database_url, "mig")
    try:
        await apply_migrations(pool, "mig", MIGRATIONS)
        edited = [MIGRATIONS[0], Migration("test/0002.sql", "SELECT 1;")]
        with pytest.raises(RuntimeError, match="changed after it was applied"):
            await apply_migrations(pool, "mig", edited)
    finally:
        await pool.close()


async def test_pool_sets_statement_and_lock_timeouts(database_url: str) -> None:
    pool = await create_pool(database_url, "tmo", statement_timeout_ms=200, lock_timeout_ms=100)
    try:
        assert await pool.fetchval("SHOW statement_timeout") == "200ms"
        assert await pool.fetchval("SHOW lock_timeout") == "100ms"
        with pytest.raises(asyncpg.QueryCanceledError):
            await pool.execute("SELECT pg_sleep(2)")
    finally:
        await pool.close()
