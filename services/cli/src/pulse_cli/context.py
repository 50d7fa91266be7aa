"""What every CLI command needs: settings that point at the running stack, gRPC stubs with
deadlines, and output that is either human (rich) or ``--json``."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import grpc
import grpc.aio
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from pulse.correlation.v1 import correlation_service_pb2_grpc as correlation_grpc
from pulse.response.v1 import response_service_pb2_grpc as response_grpc
from pulse.survey.v1 import survey_service_pb2_grpc as survey_grpc
from pulse_common.config import ConfigError, Settings, load_settings
from pulse_common.grpc_errors import domain_error_from_rpc
from pulse_common.grpc_server import open_channel
from rich.console import Console

from pulse_cli.stack import load_state

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
    except grpc.aio.AioRpcError as error:
        raise click.ClickException(explain_rpc_error(error)) from None
    finally:
        for channel in channels:
            await channel.close()


def explain_rpc_error(error: grpc.aio.AioRpcError) -> str:
    """A message that says what to fix, not a stack trace."""
    if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return (
            f"service unavailable ({error.details()}); is the stack running? "
            "start it with `pulse dev up`"
        )
    domain = domain_error_from_rpc(error)
    return f"{error.code().name}: {domain.message}"


def to_dict(message: Message) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True)


def emit(as_json: bool, payload: Any, human: str | None = None) -> None:
    """One JSON document on stdout for scripts, or a human line."""
    if as_json:
        if isinstance(payload, Message):
            payload = to_dict(payload)
        sys.stdout.write(json.dumps(payload, indent=None, default=str) + "\n")
    elif human is not None:
        click.echo(human)
