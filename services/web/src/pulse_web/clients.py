"""gRPC clients of the three services: one channel each, opened at start-up; every call has
the configured deadline and failures come back as domain errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import grpc
import grpc.aio
from pulse.correlation.v1 import correlation_service_pb2_grpc as corr_grpc
from pulse.response.v1 import response_service_pb2_grpc as resp_grpc
from pulse.survey.v1 import survey_service_pb2_grpc as survey_grpc
from pulse_common.config import Settings
from pulse_common.grpc_errors import domain_error_from_rpc
from pulse_common.grpc_server import open_channel

Request = TypeVar("Request")
Reply = TypeVar("Reply")


@dataclass
class Clients:
    survey: survey_grpc.SurveyServiceAsyncStub
    response: resp_grpc.ResponseServiceAsyncStub
    correlation: corr_grpc.CorrelationServiceAsyncStub
    channels: list[grpc.aio.Channel]
    deadline_s: float

    async def call(
        self, method: grpc.aio.UnaryUnaryMultiCallable[Request, Reply], request: Request
    ) -> Reply:
        """``await stub.Method(request)`` with the deadline; raises ``DomainError``."""
        try:
            return await method(request, timeout=self.deadline_s)
        except grpc.aio.AioRpcError as error:
            raise domain_error_from_rpc(error) from None

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()


def open_clients(settings: Settings) -> Clients:
    survey = open_channel(settings.survey_addr)
    response = open_channel(settings.response_addr)
    correlation = open_channel(settings.correlation_addr)
    return Clients(
        survey=survey_grpc.SurveyServiceStub(survey),
        response=resp_grpc.ResponseServiceStub(response),
        correlation=corr_grpc.CorrelationServiceStub(correlation),
        channels=[survey, response, correlation],
        deadline_s=settings.grpc_deadline_s,
    )
