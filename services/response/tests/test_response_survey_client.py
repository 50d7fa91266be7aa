"""The survey client against a survey service that is not there: every call is a retryable
error through the shared mapper (never the invalid-token error, which would tell a
respondent their link is bad), except the best-effort unit name."""

from __future__ import annotations

import socket

import pytest
from pulse_common import errors
from pulse_common.auth import RESPONSE, TokenSource
from pulse_response.survey_client import SurveyClient
from pulse_testing.security import credential_of, tls_of


def unused_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"127.0.0.1:{port}"


async def test_a_survey_service_that_is_down_is_unavailable() -> None:
    tokens = TokenSource(credential_of("response"), roles=frozenset({RESPONSE}))
    client = SurveyClient(unused_address(), 5.0, tls_of("response"), tokens)
    try:
        with pytest.raises(errors.Unavailable):
            await client.inspect("t" * 43)
        with pytest.raises(errors.Unavailable):
            await client.redeem("t" * 43, "k" * 16)
        with pytest.raises(errors.Unavailable):
            await client.get_survey("s", 1)
        with pytest.raises(errors.Unavailable):
            await client.subtree("north")
        assert await client.unit_name("n1") == ""
    finally:
        await client.close()
