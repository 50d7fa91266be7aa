"""``pulse nats apply``: the one owner of the PULSE stream's replicas and limits. Services
create the stream when it is missing but never shrink what was applied here."""

from __future__ import annotations

import asyncio

import click
import nats.js.errors
from nats.js.api import StreamConfig
from pulse_common.messaging import StreamLimits, apply_stream, connect_nats
from pulse_common.nats_auth import TOOLS, credentials

from pulse_cli.context import resolve_settings
from pulse_cli.options import json_option
from pulse_cli.output import emit


@click.group("nats")
def nats_group() -> None:
    """The JetStream stream every service shares."""


@nats_group.command("apply")
@click.option(
    "--replicas", type=click.IntRange(1, 5), default=1, show_default=True, help="Copies (3 = R3)."
)
@click.option("--max-bytes", type=click.IntRange(0), default=0, help="Size limit (0 = none).")
@click.option("--max-age-days", type=click.FloatRange(0), default=0.0, help="Age limit (0 = none).")
@json_option
def apply(replicas: int, max_bytes: int, max_age_days: float, as_json: bool) -> None:
    """Create the PULSE stream or set exactly these settings (also lower ones: the operator
    decides; a service started later with defaults keeps them)."""
    limits = StreamLimits(replicas=replicas, max_bytes=max_bytes, max_age_s=max_age_days * 86400)

    settings = resolve_settings()
    if not settings.nats_servers:
        raise click.ClickException("PULSE_NATS_URL is not set (or start a stack: pulse dev up)")

    async def main() -> StreamConfig:
        # PULSE_NATS_USER, or the embedded default's tools user (the stream's owner there).
        login = credentials(settings, TOOLS)
        try:
            nc = await connect_nats(
                settings.nats_servers,
                "pulse-cli",
                connect_timeout_s=5,
                user=login[0] if login else "",
                password=login[1] if login else "",
            )
        except ConnectionError as error:
            raise click.ClickException(str(error)) from None
        try:
            return await apply_stream(nc.jetstream(), limits)
        except nats.js.errors.APIError as error:
            raise click.ClickException(f"JetStream refused the settings: {error}") from None
        finally:
            await nc.close()

    config = asyncio.run(main())
    result = {
        "stream": config.name,
        "replicas": config.num_replicas,
        "max_bytes": config.max_bytes,
        "max_age_s": config.max_age,
    }
    emit(as_json, result, "\n".join(f"{key:<10} {value}" for key, value in result.items()))
