"""Shared fixtures of the CLI tests: a real stack started with `pulse dev up` (PostgreSQL from
the session's server in a fresh database, a private NATS, every service as its own process),
one per test module, and `pulse` commands run against it in this process (click's runner),
as a user types them."""

from __future__ import annotations

import asyncio
import json
import secrets
import shlex
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from click.testing import CliRunner, Result
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse.types.v1 import types_pb2
from pulse_cli.context import Stubs, connect
from pulse_cli.main import cli
from pulse_cli.stack import load_state
from pulse_common.config import load_settings
from pulse_common.embedded import free_port
from pulse_common.nats_auth import TOOLS
from pulse_testing.stack import Infrastructure, with_database

T = TypeVar("T")
SERVICES = ("SURVEY", "RESPONSE", "CORRELATION")
# Every invitation is sent (no contact budget, every interaction sampled), waves open only
# when a test opens them, and simulated respondents are not rate limited.
STACK_ENV = {
    "PULSE_CONTACT_BUDGET_DAYS": "0",
    "PULSE_CUSTOMER_SAMPLE_RATE": "1",
    "PULSE_WAVE_SCHEDULER_INTERVAL_S": "0",
    "PULSE_RESPONSE_SUBMITS_PER_MINUTE": "1000000",
    "PULSE_LOG_FORMAT": "text",
    "PULSE_SHUTDOWN_GRACE_S": "0.5",
    # The database is the test server, not an embedded one: like any deployment with an
    # external database, the stack needs its own secrets (there is no built-in one).
    "PULSE_HMAC_SECRET": secrets.token_urlsafe(32),
    "PULSE_WEB_SESSION_SECRET": secrets.token_urlsafe(32),
    # Wide enough that rich tables never cut a cell.
    "COLUMNS": "250",
}


@dataclass
class Pulse:
    """``pulse`` against the module's stack, typed as in a shell:
    ``pulse("org units --as-of 2025-06-01")`` returns click's result (stdout and stderr
    apart) and fails the test unless the command succeeds (or, with ``ok=False``, fails)."""

    env: dict[str, str]
    data_dir: Path

    def __call__(self, command: str, *, ok: bool = True) -> Result:
        args = shlex.split(command)
        result = CliRunner().invoke(cli, args, env=self.env, catch_exceptions=False)
        if ok != (result.exit_code == 0):
            raise AssertionError(
                f"pulse {command} exited {result.exit_code}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def json(self, command: str) -> dict[str, Any]:
        """The one JSON document ``--json`` prints."""
        return dict(json.loads(self(f"{command} --json").stdout.strip().splitlines()[-1]))

    def tokens(self, survey_id: str, count: int, timeout_s: float = 20.0) -> dict[str, str]:
        """Contact -> token of the first invitations to ``survey_id`` in the delivery log the
        survey service writes (``<data dir>/invitations.log``), once ``count`` are there."""
        log = self.data_dir / "invitations.log"
        deadline = time.monotonic() + timeout_s
        while True:
            found: dict[str, str] = {}
            lines = log.read_text().splitlines() if log.exists() else []
            for line in lines:
                _, contact, link, survey, kind = line.split("\t")
                if survey == survey_id and kind == "invitation":
                    found.setdefault(contact, link.rsplit("/s/", 1)[1])
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} invitations in {log}")
            time.sleep(0.2)

    def submit(self, requests: list[resp_pb.SubmitRequest]) -> None:
        """Answer as respondents do (the web front's call), one submission per token."""

        async def send(stubs: Stubs) -> None:
            for request in requests:
                await stubs.response.Submit(request, timeout=stubs.deadline_s)

        self._with_stubs(send)

    def wait_counted(self, total: int, timeout_s: float = 60.0) -> None:
        """Until the correlation service has counted ``total`` responses in all (read from its
        ingestion statistics: polling scores would release groups while they still grow)."""

        async def counted(stubs: Stubs) -> int:
            stats = await stubs.correlation.GetIngestionStats(
                corr_pb.GetIngestionStatsRequest(), timeout=stubs.deadline_s
            )
            return int(stats.responses_counted)

        deadline = time.monotonic() + timeout_s
        while (now := self._with_stubs(counted)) < total:
            assert time.monotonic() < deadline, f"{now} of {total} responses counted"
            time.sleep(0.2)

    def _with_stubs(self, action: Callable[[Stubs], Awaitable[T]]) -> T:
        state = load_state(self.data_dir)
        assert state is not None
        settings = load_settings({**self.env, **state.env()})

        async def main() -> T:
            # As the embedded tools identity: it answers as the web front would (Submit).
            async with connect(settings, TOOLS) as stubs:
                return await action(stubs)

        return asyncio.run(main())


def answers(**scores: int | str) -> list[types_pb2.Answer]:
    """``answers(**{"rec.1": 4, "ecomment.1": "text"})``: scores and free text by item id."""
    return [
        types_pb2.Answer(item_id=item, text=value)
        if isinstance(value, str)
        else types_pb2.Answer(item_id=item, score=value)
        for item, value in scores.items()
    ]


def submission(
    token: str, scores: dict[str, int | str], share: bool = False
) -> resp_pb.SubmitRequest:
    return resp_pb.SubmitRequest(
        token=token,
        answers=answers(**scores),
        idempotency_key=uuid.uuid4().hex,
        client_id=uuid.uuid4().hex,
        share_comment_with_team=share,
    )


async def _database(admin_url: str, name: str, create: bool) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        if create:
            await admin.execute(f'CREATE DATABASE "{name}"')
        else:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="module")
def pulse(pulse_infra: Infrastructure, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pulse]:
    """`pulse dev up --no-web` for the module, `pulse dev down` after it."""
    name = f"pulse_cli_{uuid.uuid4().hex[:12]}"
    asyncio.run(_database(pulse_infra.admin_database_url, name, create=True))
    env = {
        **STACK_ENV,
        "PULSE_DATA_DIR": str(tmp_path_factory.mktemp("cli-stack")),
        "PULSE_DATABASE_URL": with_database(pulse_infra.admin_database_url, name),
        # Free ports, never the defaults a developer's own `pulse dev up` may hold.
        **{f"PULSE_{service}_ADDR": f"127.0.0.1:{free_port()}" for service in SERVICES},
    }
    if pulse_infra.external_nats_url:
        env["PULSE_NATS_URL"] = pulse_infra.external_nats_url
    runner = Pulse(env, Path(env["PULSE_DATA_DIR"]))
    try:
        up = runner.json("dev up --no-web")
        assert set(up["addresses"]) == {"survey", "response", "correlation"}
        yield runner
    finally:
        runner("dev down")
        asyncio.run(_database(pulse_infra.admin_database_url, name, create=False))
