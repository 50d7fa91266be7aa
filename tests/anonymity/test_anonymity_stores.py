"""Issue 13, separate stores: survey (people, invitations) and response (answers) live in
separate databases, each reachable by its own login role only (``pulse_common.provision``).
On one cluster transaction ids are still shared, which is why production puts them on
separate PostgreSQL clusters (README "Confidentiality")."""

from __future__ import annotations

import asyncpg
import pytest
from pulse_testing.response import Harness
from pulse_testing.stack import with_database


async def test_each_service_reaches_only_its_own_store(
    batching: tuple[Harness, list[str]], stores: dict[str, str]
) -> None:
    """Survey (people, invitations) and response (answers) live in separate databases, each
    reachable by its own role only."""
    h, _ = batching
    assert await h.survey_pool.fetchval("SELECT current_database()") != await h.pool.fetchval(
        "SELECT current_database()"
    )
    for mine, other in (("survey", "response"), ("response", "survey")):
        trespass = with_database(stores[mine], stores[other].rsplit("/", 1)[1])
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await asyncpg.connect(trespass)
    tables = {
        r["table_name"]
        for r in await h.pool.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'response'"
        )
    }
    assert "responses" in tables
    assert "invitations" not in tables
