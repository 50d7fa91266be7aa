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

from pulse_common.grpc_errors import DomainErrorInterceptor

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 8 * 1024 * 1024


class GrpcServer:
    """A grpc.aio server with health and reflection for ``service_names``."""

    def __init__(self, service_names: Sequence[str]) -> None:
        self.service_names = list(service_names)
        self.server = grpc.aio.server(
            interceptors=[DomainErrorInterceptor()],
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

    def bind(self, address: str) -> int:
        """Bind ``host:port`` (port 0 picks a free one); returns the bound port."""
        self.port = self.server.add_insecure_port(address)
        if self.port == 0:
            raise OSError(f"cannot bind gRPC server to {address}")
        return self.port

    async def start(self) -> None:
        await self.server.start()
        for name in [*self.service_names, ""]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

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
        log.info("grpc server stopped")


def channel_options() -> list[tuple[str, object]]:
    """Client channel options: bounded sizes and transparent retry of UNAVAILABLE."""
    import json

    service_config = {
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
        ]
    }
    return [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.enable_retries", 1),
        ("grpc.service_config", json.dumps(service_config)),
    ]


def open_channel(address: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(address, options=channel_options())


async def check_health(address: str, service: str, timeout_s: float = 2.0) -> str:
    """Standard health check of one service; returns the status name (e.g. "SERVING")."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout_s)
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
