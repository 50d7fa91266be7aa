"""Failed calls read through the one client-side mapper: each says what to fix, and a slow
request is never reported as a stack that is down (nor the other way round)."""

from __future__ import annotations

import grpc
import grpc.aio
from pulse_cli.context import explain_rpc_error
from pulse_common.grpc_errors import bad_request_trailers


def rpc_error(
    code: grpc.StatusCode, details: str, trailers: grpc.aio.Metadata | None = None
) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), trailers or grpc.aio.Metadata(), details)


def test_a_deadline_says_narrow_the_request_or_allow_more_time() -> None:
    message = explain_rpc_error(rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"))
    assert message.startswith("timed out")
    assert "narrow the request or raise PULSE_GRPC_DEADLINE_S" in message
    assert "pulse dev up" not in message


def test_an_unreachable_service_says_start_the_stack() -> None:
    message = explain_rpc_error(rpc_error(grpc.StatusCode.UNAVAILABLE, "failed to connect"))
    assert message.startswith("cannot reach the service (failed to connect)")
    assert "start it with `pulse dev up`" in message


def test_a_field_error_names_the_field() -> None:
    trailers = grpc.aio.Metadata(
        *bad_request_trailers(
            grpc.StatusCode.INVALID_ARGUMENT,
            "unit_id",
            "must be 1 to 64 letters",
            "unit_id: must be 1 to 64 letters",
        )
    )
    error = rpc_error(
        grpc.StatusCode.INVALID_ARGUMENT, "unit_id: must be 1 to 64 letters", trailers
    )
    assert explain_rpc_error(error) == "INVALID_ARGUMENT: unit_id: must be 1 to 64 letters"


def test_other_statuses_keep_their_name() -> None:
    error = rpc_error(grpc.StatusCode.FAILED_PRECONDITION, "wave is closed")
    assert explain_rpc_error(error) == "FAILED_PRECONDITION: wave is closed"
