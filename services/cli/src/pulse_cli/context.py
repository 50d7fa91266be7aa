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
from pulse_common.auth import Credential, TokenSource, bearer, load_credential
from pulse_common.config import ConfigError, Settings, load_settings
from pulse_common.errors import DeadlineExceeded, PermissionDenied, Unauthenticated, Unavailable
from pulse_common.grpc_errors import domain_error_from_rpc
from pulse_common.grpc_server import open_channel
from pulse_common.tls import TlsMaterial, load_tls
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
    # The credential every call is signed with (the operator's, or the demo's tools).
    credential: Credential | None = None

    def scoped(self, scope: str) -> tuple[tuple[str, str], ...] | None:
        """Metadata of a call limited to ``scope``'s subtree (None: the whole org, which
        the channels' own token already covers)."""
        if not scope or self.credential is None:
            return None
        return bearer(self.credential.mint(scope=scope))


# The credential the CLI signs with: PULSE_AUTH_CREDENTIAL_FILE, or the embedded default's
# operator credential (created by `pulse dev up`; more with `pulse auth add`).
OPERATOR = "operator"


def client_identity(settings: Settings, identity: str = OPERATOR) -> tuple[TlsMaterial, Credential]:
    """The CLI's certificate and credential; ``ClickException`` saying how to get them."""
    try:
        tls = load_tls(settings, "tools" if identity == "tools" else "cli")
        return tls, load_credential(settings, identity)
    except ConfigError as error:
        raise click.ClickException(error.message) from None


@asynccontextmanager
async def connect(settings: Settings, identity: str = OPERATOR) -> AsyncIterator[Stubs]:
    """Stubs of the three services over mutual TLS, each call carrying a token of the
    CLI's credential; the channels close when the block ends."""
    tls, credential = client_identity(settings, identity)
    tokens = TokenSource(credential, settings.auth.token_ttl_s)
    channels = [
        open_channel(settings.survey_addr, tls, tokens),
        open_channel(settings.response_addr, tls, tokens),
        open_channel(settings.correlation_addr, tls, tokens),
    ]
    try:
        yield Stubs(
            survey_grpc.SurveyServiceStub(channels[0]),
            response_grpc.ResponseServiceStub(channels[1]),
            correlation_grpc.CorrelationServiceStub(channels[2]),
            settings.grpc_deadline_s,
            credential,
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
    if isinstance(domain, Unauthenticated | PermissionDenied):
        return (
            f"{error.code().name}: {domain.message} (this command line signs as shown by "
            "`pulse auth whoami`; see README, Who can call what)"
        )
    return f"{error.code().name}: {domain.message}"
