"""A real survey service (PostgreSQL + NATS + gRPC) per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pulse_testing.survey import Survey, running_survey


@pytest.fixture
async def survey(database_url: str, nats_url: str, tmp_path: Path) -> AsyncIterator[Survey]:
    async with running_survey(database_url, nats_url, tmp_path) as service:
        yield service
