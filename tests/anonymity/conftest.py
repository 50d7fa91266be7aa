"""Separate stores for the adversaries: the survey and response services each get their
own database and login role on the test cluster (``pulse_common.provision``), as the
embedded default, compose and Kubernetes give them."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from pulse_common.provision import provision_store
from pulse_testing.response import Harness, running_harness
from pulse_testing.stack import Infrastructure, with_database

SERVICES = ("survey", "response")


@pytest.fixture
async def stores(pulse_infra: Infrastructure) -> AsyncIterator[dict[str, str]]:
    """service -> the URL it connects with (its own role and database)."""
    suffix = uuid.uuid4().hex[:8]
    admin = pulse_infra.admin_database_url
    urls = {
        service: await provision_store(admin, f"t{suffix}_{service}", secrets.token_hex(16))
        for service in SERVICES
    }
    yield urls
    conn = await asyncpg.connect(admin)
    try:
        for service in SERVICES:
            name = f"t{suffix}_{service}"
            await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            await conn.execute(f"DROP ROLE IF EXISTS {name}")
    finally:
        await conn.close()


@pytest.fixture
async def batching(
    stores: dict[str, str], nats_url: str, pulse_infra: Infrastructure
) -> AsyncIterator[tuple[Harness, list[str]]]:
    """Survey and response on their own databases and roles, with the real batching;
    with the URLs a reader of every database dumps (as the cluster's superuser)."""
    env = {
        "PULSE_ANSWER_BATCH_K": "0",
        "PULSE_ANSWER_SWEEP_S": "1",
        "PULSE_SURVEY_DATABASE_URL": stores["survey"],
        "PULSE_RESPONSE_DATABASE_URL": stores["response"],
    }
    admin = pulse_infra.admin_database_url
    every = [with_database(admin, url.rsplit("/", 1)[1]) for url in stores.values()]
    async with running_harness(stores["response"], nats_url, **env) as h:
        yield h, every
