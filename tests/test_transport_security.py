"""Mutual TLS at a service port: a plaintext client, a TLS client without a certificate and
one with a certificate from another CA get nothing answered; a valid certificate reaches
health (no token needed) but no business RPC without a token; the optional plaintext
health port (PULSE_HEALTH_ADDR) answers health and nothing else."""

from __future__ import annotations

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse.survey.v1 import survey_service_pb2_grpc as pb_grpc
from pulse_common.config import Settings
from pulse_common.embedded import free_port
from pulse_common.grpc_server import open_channel
from pulse_common.tls import TlsMaterial, issue_certificate, new_ca
from pulse_survey.app import DEFINITION
from pulse_testing.security import tls_of, tools_channel
from pulse_testing.stack import inprocess_stack, with_health

SERVICE = "pulse.survey.v1.SurveyService"


def foreign_material() -> TlsMaterial:
    """A certificate of another CA (a stranger who made their own)."""
    key, cert = new_ca()  # the same recipe, another key
    cert_pem, key_pem = issue_certificate(key, cert, "tools")
    return TlsMaterial(ca=tls_of().ca, cert=cert_pem, key=key_pem)


async def business_call(channel: grpc.aio.Channel) -> grpc.aio.AioRpcError:
    stub = pb_grpc.SurveyServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ListUnits(pb.ListUnitsRequest(), timeout=3)
    return caught.value


async def test_only_a_trusted_certificate_reaches_the_port(settings: Settings) -> None:
    health_address = f"127.0.0.1:{free_port()}"
    async with inprocess_stack(with_health(settings, health_address), [DEFINITION]) as stack:
        address = stack.address("survey")
        no_certificate = TlsMaterial(ca=tls_of().ca, cert=b"", key=b"")
        refused = {
            "plaintext": grpc.aio.insecure_channel(address),
            "no client certificate": grpc.aio.secure_channel(
                address, grpc.ssl_channel_credentials(root_certificates=no_certificate.ca)
            ),
            "certificate of another CA": open_channel(address, foreign_material()),
        }
        for what, channel in refused.items():
            async with channel:
                error = await business_call(channel)
                assert error.code() == grpc.StatusCode.UNAVAILABLE, what
                with pytest.raises(grpc.aio.AioRpcError):
                    await health_pb2_grpc.HealthStub(channel).Check(
                        health_pb2.HealthCheckRequest(service=SERVICE), timeout=3
                    )

        # A valid certificate: health answers without a token, business RPCs do not.
        async with tools_channel(address, with_token=False) as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=SERVICE), timeout=3
            )
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            error = await business_call(channel)
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "no caller token" in (error.details() or "")

        # The probes' plaintext port: health only.
        async with grpc.aio.insecure_channel(health_address) as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=SERVICE), timeout=3
            )
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            error = await business_call(channel)
            assert error.code() == grpc.StatusCode.UNIMPLEMENTED
