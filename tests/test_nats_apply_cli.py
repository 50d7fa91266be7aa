"""``pulse nats apply``: the stream owner's command sets replicas and limits, and a service
start with defaults afterwards leaves them as applied."""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

from click.testing import CliRunner
from pulse_cli.main import cli
from pulse_common import subjects
from pulse_common.messaging import connect_nats, ensure_stream


async def test_apply_sets_limits_that_a_later_start_keeps(nats_url: str, tmp_path: Path) -> None:
    env = {
        "PULSE_NATS_URL": nats_url,
        "PULSE_DATA_DIR": str(tmp_path),
        "PULSE_HMAC_SECRET": secrets.token_urlsafe(32),
    }
    args = ["nats", "apply", "--max-bytes", "40000000", "--max-age-days", "2", "--json"]
    result = await asyncio.to_thread(CliRunner().invoke, cli, args, env=env)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown == {
        "stream": "PULSE",
        "replicas": 1,
        "max_bytes": 40_000_000,
        "max_age_s": 172_800,
    }

    nc = await connect_nats(nats_url, "test")
    try:
        js = nc.jetstream()
        await ensure_stream(js, 1)  # a service starting with the default settings
        config = (await js.stream_info(subjects.STREAM)).config
        assert (config.max_bytes, config.max_age) == (40_000_000, 172_800)
    finally:
        await nc.close()

    refused = await asyncio.to_thread(
        CliRunner().invoke, cli, ["nats", "apply", "--replicas", "3"], env=env
    )
    assert refused.exit_code != 0  # one server cannot hold 3 replicas: said, not hidden
    assert "JetStream refused" in refused.output
