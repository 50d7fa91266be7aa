"""gRPC server bootstrap shared by all services: standard health checking, reflection,
domain-error mapping, and graceful shutdown (NOT_SERVING, drain, stop with grace)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from pulse_common.auth import TokenSource
from pulse_common.grpc_auth import AuthInterceptor, CheckedCalls
from pulse_common.tls import TlsMaterial
from pulse_common.token_channel import TokenChannel

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 8 * 1024 * 1024
# Reconnect backoff of a client channel (first, most), in milliseconds.
RECONNECT_BACKOFF_MS = (250, 1000)


class GrpcServer:
    """A grpc.aio server with health and reflection for ``service_names``.

    Services always pass ``tls`` (mutual TLS: a client without a certificate of the trusted
    CA is refused at the handshake) and ``auth`` (caller token and role of every call);
    without them the server is plaintext and unchecked, which only the bootstrap's own
    tests use. ``bind_health`` adds an optional plaintext port that answers
    ``grpc.health.v1.Health`` and nothing else, for probes that cannot present a
    certificate (PULSE_HEALTH_ADDR)."""

    def __init__(
        self,
        service_names: Sequence[str],
        *,
        tls: TlsMaterial | None = None,
        auth: AuthInterceptor | None = None,
    ) -> None:
        self.service_names = list(service_names)
        self.tls = tls
        self.checked = CheckedCalls(auth)  # caller checks and error mapping, one interceptor
        self.server = grpc.aio.server(
            interceptors=[self.checked],
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
            ],
        )
        self.health = HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            [
                *self.service_names,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            self.server,
        )
        self.port = 0
        self.health_server: grpc.aio.Server | None = None
        self.health_port = 0

    def bind(self, address: str) -> int:
        """Bind ``host:port`` (port 0 picks a free one); returns the bound port."""
        if self.tls is None:
            self.port = self.server.add_insecure_port(address)
        else:
            self.port = self.server.add_secure_port(address, self.tls.server_credentials())
        if self.port == 0:
            raise OSError(f"cannot bind gRPC server to {address}")
        return self.port

    def bind_health(self, address: str) -> int:
        """A plaintext port serving the health service only (no business RPC, no
        reflection), for load balancers and Kubernetes probes."""
        self.health_server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.health_server)
        self.health_port = self.health_server.add_insecure_port(address)
        if self.health_port == 0:
            raise OSError(f"cannot bind the health port to {address}")
        return self.health_port

    async def start(self) -> None:
        await self.server.start()
        if self.health_server is not None:
            await self.health_server.start()
        for name in [*self.service_names, ""]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def set_ready(self, ready: bool) -> None:
        """Readiness: the service names report SERVING or NOT_SERVING; the server as a whole
        (``""``, liveness) is left alone (a dependency's outage is no reason to restart)."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if ready
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in self.service_names:
            await self.health.set(name, status)

    async def set_not_serving(self) -> None:
        """Every service name (and the server as a whole) reports NOT_SERVING."""
        for name in [*self.service_names, ""]:
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)

    async def stop(self, grace_s: float, drain_s: float = 0.0) -> None:
        """Flip health to NOT_SERVING so load balancers stop routing, wait ``drain_s``, then
        let in-flight calls finish for up to ``grace_s`` before cancelling them."""
        await self.health.enter_graceful_shutdown()
        if drain_s > 0:
            await asyncio.sleep(drain_s)
        await self.server.stop(grace_s)
        if self.health_server is not None:
            await self.health_server.stop(0)
        log.info("grpc server stopped")


def channel_options() -> list[tuple[str, object]]:
    """Client channel options: bounded sizes, transparent retry of UNAVAILABLE, and calls
    spread over every address of the target (``ipv4:a,b`` or a name resolving to several:
    the instances of a service), skipping one that is down."""
    import json

    service_config = {
        "loadBalancingConfig": [{"round_robin": {}}],
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": 4,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ],
    }
    return [
        # gRPC's default reconnect backoff grows to 120 s: a peer that was down for a dozen
        # seconds stayed unreachable (every call UNAVAILABLE) for seconds after it was back.
        # Capped, a restarted service is found again within about a second.
        ("grpc.initial_reconnect_backoff_ms", RECONNECT_BACKOFF_MS[0]),
        ("grpc.max_reconnect_backoff_ms", RECONNECT_BACKOFF_MS[1]),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.enable_retries", 1),
        ("grpc.service_config", json.dumps(service_config)),
    ]


def open_channel(
    address: str, tls: TlsMaterial | None = None, tokens: TokenSource | None = None
) -> grpc.aio.Channel:
    """A channel to a Pulse service: mutual TLS with ``tls`` (plaintext without it, which
    every Pulse port refuses), and ``tokens`` on every call that brings no token of its
    own."""
    options = channel_options()
    if tls is None:
        channel = grpc.aio.insecure_channel(address, options=options)
    else:
        if tls.server_name:
            options.append(("grpc.ssl_target_name_override", tls.server_name))
        channel = grpc.aio.secure_channel(address, tls.channel_credentials(), options=options)
    return channel if tokens is None else TokenChannel(channel, tokens)


async def check_health(
    address: str, service: str, timeout_s: float = 2.0, tls: TlsMaterial | None = None
) -> str:
    """Standard health check of one service; returns the status name (e.g. "SERVING")."""
    async with open_channel(address, tls) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout_s)
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
