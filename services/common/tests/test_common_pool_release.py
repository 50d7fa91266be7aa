"""Releasing a pooled connection sends nothing (issue 20: no ``RESET ALL`` round trip per
unit of work), yet a transaction left open is still rolled back."""

from __future__ import annotations

from pulse_common.db import create_pool


async def test_release_rolls_back_but_sends_no_reset(database_url: str) -> None:
    pool = await create_pool(database_url, "public", min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await conn.execute("CREATE TABLE IF NOT EXISTS release_probe (n int)")
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            await conn.execute("SELECT set_config('pulse.probe', 'kept', false)")
            await conn.execute("BEGIN")
            await conn.execute("INSERT INTO release_probe VALUES (1)")
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT pg_backend_pid()") == pid  # the same session
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT count(*) FROM release_probe") == 0
            # Session state survives a release: no ``RESET ALL`` was sent (which is why
            # nothing may leave session state on a pooled connection: see db._keep_session).
            assert await conn.fetchval("SELECT current_setting('pulse.probe', true)") == "kept"
            await conn.execute("SELECT set_config('pulse.probe', '', false)")
            await conn.execute("DROP TABLE release_probe")
    finally:
        await pool.close()
