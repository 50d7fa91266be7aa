"""What every CLI command needs: settings that point at the running stack, gRPC stubs with
deadlines, and errors that say what to fix."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import click
import grpc.aio
from pulse.correlation.v1 import correlation_service_pb2_grpc as correlation_grpc
from pulse.response.v1 import response_service_pb2_grpc as response_grpc
from pulse.survey.v1 import survey_service_pb2_grpc as survey_grpc
from pulse_common.config import ConfigError, Settings, load_settings
from pulse_common.errors import DeadlineExceeded, Unavailable
from pulse_common.grpc_errors import domain_error_from_rpc
from pulse_common.grpc_server import open_channel
from rich.console import Console

from pulse_cli.stack import load_state

# Progress and messages go to stderr; stdout carries only results (tables or --json).
console = Console(stderr=True)


def resolve_settings() -> Settings:
    """Environment first; addresses of a stack started by ``pulse dev up`` fill the gaps."""
    env = dict(os.environ)
    data_dir = Path(env.get("PULSE_DATA_DIR") or ".pulse")
    state = load_state(data_dir.resolve())
    if state is not None:
        for key, value in state.env().items():
            env.setdefault(key, value)
    try:
        return load_settings(env)
    except ConfigError as error:
        raise click.ClickException(f"configuration error: {error.message}") from None


@dataclass
class Stubs:
    survey: survey_grpc.SurveyServiceAsyncStub
    response: response_grpc.ResponseServiceAsyncStub
    correlation: correlation_grpc.CorrelationServiceAsyncStub
    deadline_s: float


@asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[Stubs]:
    """Stubs of the three services; the channels close when the block ends."""
    channels = [
        open_channel(settings.survey_addr),
        open_channel(settings.response_addr),
        open_channel(settings.correlation_addr),
    ]
    try:
        yield Stubs(
            survey_grpc.SurveyServiceStub(channels[0]),
            response_grpc.ResponseServiceStub(channels[1]),
            correlation_grpc.CorrelationServiceStub(channels[2]),
            settings.grpc_deadline_s,
        )
    finally:
        for channel in channels:
            await channel.close()


def explain_rpc_error(error: grpc.aio.AioRpcError) -> str:
    """A message that says what to fix, not a stack trace. The status is read through the one
    client-side mapper (``domain_error_from_rpc``), so a slow request is never reported as a
    stack that is down, nor the other way round."""
    domain = domain_error_from_rpc(error)
    if isinstance(domain, DeadlineExceeded):
        return f"timed out ({domain.message}); narrow the request or raise PULSE_GRPC_DEADLINE_S"
    if isinstance(domain, Unavailable):
        return (
            f"cannot reach the service ({domain.message}); is the stack running? "
            "start it with `pulse dev up`"
        )
    return f"{error.code().name}: {domain.message}"
