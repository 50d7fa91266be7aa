"""PostgreSQL access: an asyncpg pool bound to one service schema, with statement and lock
timeouts, and plain-SQL migrations applied under an advisory lock."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

log = logging.getLogger(__name__)

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
Pool = asyncpg.Pool
# What ``pool.acquire()`` yields, or a plain connection: repositories accept either.
Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


def _check_schema(schema: str) -> None:
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"schema must match {_SCHEMA_NAME.pattern}, got {schema!r}")


async def create_pool(
    url: str,
    schema: str,
    *,
    statement_timeout_ms: int = 30_000,
    lock_timeout_ms: int = 5_000,
    min_size: int = 1,
    max_size: int = 10,
) -> Pool:
    """A pool whose connections see only ``schema`` (then ``public``) and time out runaway
    statements and lock waits, so one stuck query cannot hold a service hostage."""
    _check_schema(schema)
    pool = await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        reset=_keep_session,
        command_timeout=max(1.0, statement_timeout_ms / 1000 + 5),
        server_settings={
            "search_path": f"{schema},public",
            "statement_timeout": str(statement_timeout_ms),
            "lock_timeout": str(lock_timeout_ms),
            "idle_in_transaction_session_timeout": str(max(60_000, statement_timeout_ms * 2)),
            "application_name": f"pulse-{schema}",
        },
    )
    assert pool is not None
    return pool


async def _keep_session(connection: asyncpg.Connection) -> None:
    """The pool's ``reset`` hook: nothing to send on release (asyncpg still rolls back a
    transaction left open and drops in-process listeners before calling this).

    asyncpg's default runs ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET
    ALL`` on every release: one more round trip per unit of work. Nothing here leaves session
    state on a pooled connection: advisory locks are ``pg_advisory_xact_lock`` (released at
    commit or rollback) except ``apply_migrations``' session lock, which it unlocks itself
    in ``finally`` together with its ``SET lock_timeout`` (a failure there fails the release
    and asyncpg terminates the connection); cursors exist only inside transactions; no
    service LISTENs (the outbox relay is woken in-process by ``Database.notify``); settings
    are per pool (``server_settings``) or ``SET LOCAL``. A new ``SET``/``LISTEN``/session
    lock on a pooled connection must undo itself the same way."""
    return None


@dataclass(frozen=True)
class Migration:
    """One SQL file; ``version`` is ``<package>/<file name>`` so packages never collide."""

    version: str
    sql: str


def load_migrations(package: str, folder: str = "migrations") -> list[Migration]:
    """The ``*.sql`` files of ``package/folder`` in name order."""
    root = resources.files(package).joinpath(folder)
    files = sorted(
        (entry for entry in root.iterdir() if entry.name.endswith(".sql")),
        key=lambda entry: entry.name,
    )
    return [Migration(f"{package}/{entry.name}", entry.read_text("utf-8")) for entry in files]


def _lock_key(schema: str) -> int:
    digest = hashlib.sha256(f"pulse-migrations:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def apply_migrations(pool: Pool, schema: str, migrations: list[Migration]) -> list[str]:
    """Apply the migrations not yet recorded in ``<schema>.schema_migrations``, each in its
    own transaction, holding a session advisory lock so concurrent starts of several
    instances apply each file exactly once. Returns the versions applied now."""
    _check_schema(schema)
    applied_now: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SET lock_timeout = 0")  # waiting for another instance is fine
        await conn.execute("SELECT pg_advisory_lock($1)", _lock_key(schema))
        try:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {schema}.schema_migrations ("
                " version text PRIMARY KEY,"
                " checksum text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            rows = await conn.fetch(f"SELECT version, checksum FROM {schema}.schema_migrations")
            done = {row["version"]: row["checksum"] for row in rows}
            for migration in migrations:
                checksum = hashlib.sha256(migration.sql.encode()).hexdigest()
                if migration.version in done:
                    if done[migration.version] != checksum:
                        raise RuntimeError(
                            f"migration {migration.version} changed after it was applied; "
                            "add a new migration file instead of editing an applied one"
                        )
                    continue
                async with conn.transaction():
                    await conn.execute(f"SET LOCAL search_path = {schema}, public")
                    await conn.execute(migration.sql)
                    await conn.execute(
                        f"INSERT INTO {schema}.schema_migrations (version, checksum)"
                        " VALUES ($1, $2)",
                        migration.version,
                        checksum,
                    )
                applied_now.append(migration.version)
                log.info(
                    "applied migration", extra={"schema": schema, "version": migration.version}
                )
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _lock_key(schema))
            await conn.execute("RESET lock_timeout")
    return applied_now
