"""gRPC clients of the three services: one channel each, opened at start-up, over mutual TLS
with the web's certificate; every call has the configured deadline, carries the identity
of the page's caller (``identity``) and its failures come back as domain errors.

The web's credential may grant two roles only: ``respondent-front`` (its own token, for the
survey pages) and ``leader`` (a token per signed-in leader, in that leader's scope)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TypeVar

import grpc
import grpc.aio
from pulse.correlation.v1 import correlation_service_pb2_grpc as corr_grpc
from pulse.response.v1 import response_service_pb2_grpc as resp_grpc
from pulse.survey.v1 import survey_service_pb2_grpc as survey_grpc
from pulse_common.auth import LEADER, RESPONDENT_FRONT, Credential, TokenSource, load_credential
from pulse_common.config import Settings
from pulse_common.grpc_errors import domain_error_from_rpc
from pulse_common.grpc_server import open_channel
from pulse_common.tls import load_tls

from pulse_web.identity import leader_metadata

Request = TypeVar("Request")
Reply = TypeVar("Reply")
# Leader token sources kept for the org view's scopes (few: one per configured scope).
MAX_SCOPE_TOKENS = 256


@dataclass
class Clients:
    survey: survey_grpc.SurveyServiceAsyncStub
    response: resp_grpc.ResponseServiceAsyncStub
    correlation: corr_grpc.CorrelationServiceAsyncStub
    channels: list[grpc.aio.Channel]
    deadline_s: float
    credential: Credential
    token_ttl_s: int = 300
    respondent: TokenSource = field(init=False)
    _scopes: OrderedDict[str, TokenSource] = field(default_factory=OrderedDict)

    def __post_init__(self) -> None:
        self.respondent = TokenSource(
            self.credential,
            self.token_ttl_s,
            subject="respondent-front",
            roles=frozenset({RESPONDENT_FRONT}),
            scope="",
        )

    def leader_tokens(self, username: str, scope: str) -> TokenSource:
        """Tokens of a signed-in leader (role leader, the account's scope)."""
        return TokenSource(
            self.credential,
            self.token_ttl_s,
            subject=username,
            roles=frozenset({LEADER}),
            scope=scope,
        )

    def scope_metadata(self, scope: str) -> tuple[tuple[str, str]]:
        """A leader token of ``scope`` for the web's own org view (unit names of a scope)."""
        tokens = self._scopes.get(scope)
        if tokens is None:
            tokens = self.leader_tokens("org-view", scope)
            self._scopes[scope] = tokens
            while len(self._scopes) > MAX_SCOPE_TOKENS:
                self._scopes.popitem(last=False)
        return tokens.metadata()

    async def call(
        self,
        method: grpc.aio.UnaryUnaryMultiCallable[Request, Reply],
        request: Request,
        *,
        metadata: tuple[tuple[str, str], ...] | None = None,
    ) -> Reply:
        """``await stub.Method(request)`` with the deadline, as the signed-in leader of this
        request (else as respondent-front); raises ``DomainError``."""
        caller = metadata or leader_metadata() or self.respondent.metadata()
        try:
            return await method(request, timeout=self.deadline_s, metadata=caller)
        except grpc.aio.AioRpcError as error:
            raise domain_error_from_rpc(error) from None

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()


def open_clients(settings: Settings) -> Clients:
    """Channels with the web's TLS material and credential (``PULSE_TLS_*`` and
    ``PULSE_AUTH_CREDENTIAL_FILE``, or the embedded default's ``web`` identity)."""
    tls = load_tls(settings, "web")
    credential = load_credential(settings, "web")
    survey = open_channel(settings.survey_addr, tls)
    response = open_channel(settings.response_addr, tls)
    correlation = open_channel(settings.correlation_addr, tls)
    return Clients(
        survey=survey_grpc.SurveyServiceStub(survey),
        response=resp_grpc.ResponseServiceStub(response),
        correlation=corr_grpc.CorrelationServiceStub(correlation),
        channels=[survey, response, correlation],
        deadline_s=settings.grpc_deadline_s,
        credential=credential,
        token_ttl_s=settings.auth.token_ttl_s,
    )
