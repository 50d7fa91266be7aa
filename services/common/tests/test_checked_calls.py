"""The one server interceptor (``CheckedCalls``): a method's wrapped handler is built once,
the caller is still checked on every call (issue 20), and errors keep their mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from pulse.response.v1 import response_service_pb2 as pb
from pulse.response.v1 import response_service_pb2_grpc as pb_grpc
from pulse_common import auth, errors
from pulse_common.auth import Credential, current_caller
from pulse_common.grpc_auth import AuthInterceptor, CheckedCalls
from pulse_common.grpc_server import GrpcServer, open_channel
from pulse_common.issuers import IssuerRegistry
from pulse_common.provision import ensure_embedded_auth
from pulse_common.rpc_roles import RESPONSE_SERVICE

pytestmark = pytest.mark.asyncio


class Servicer(pb_grpc.ResponseServiceServicer):
    async def ListImports(
        self, request: pb.ListImportsRequest, context: Any
    ) -> pb.ListImportsResponse:
        if request.limit == 13:
            raise errors.InvalidArgument("limit", "is unlucky")
        caller = current_caller()
        return pb.ListImportsResponse(imports=[pb.ImportRecord(imported_by=caller.viewer_id)])


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[GrpcServer, str, Credential]]:
    ensure_embedded_auth(tmp_path)
    registry = IssuerRegistry(tmp_path / "auth" / "issuers.json", check_every_s=0)
    server = GrpcServer([RESPONSE_SERVICE], auth=AuthInterceptor(registry))
    servicer = Servicer()  # type: ignore[abstract]  # one method is enough here
    pb_grpc.add_ResponseServiceServicer_to_server(servicer, server.server)
    port = server.bind("127.0.0.1:0")
    await server.start()
    try:
        yield server, f"127.0.0.1:{port}", Credential.load(tmp_path / "auth" / "tools.json")
    finally:
        await server.stop(0)


async def test_every_call_is_checked_though_the_handler_is_built_once(
    served: tuple[GrpcServer, str, Credential],
) -> None:
    server, address, tools = served
    admin = auth.bearer(tools.mint(subject="ada", roles=[auth.ADMIN]))
    analyst = auth.bearer(tools.mint(subject="ann", roles=[auth.ANALYST]))
    method = f"/{RESPONSE_SERVICE}/ListImports"
    async with open_channel(address) as channel:
        stub = pb_grpc.ResponseServiceStub(channel)
        first = await stub.ListImports(pb.ListImportsRequest(), metadata=admin)
        assert first.imports[0].imported_by == "tools:ada"
        built = server.checked._wrapped[method][1]
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.ListImports(pb.ListImportsRequest(), metadata=analyst)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as anonymous:
            await stub.ListImports(pb.ListImportsRequest())
        assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await stub.ListImports(pb.ListImportsRequest(limit=13), metadata=admin)
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        # Not a request message: INVALID_ARGUMENT for a caller, UNAUTHENTICATED without one.
        raw: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
            f"/{RESPONSE_SERVICE}/ListImports"
        )
        with pytest.raises(grpc.aio.AioRpcError) as garbage:
            await raw(b"\xff\xff\xff", metadata=admin)
        assert garbage.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as garbage_anonymous:
            await raw(b"\xff\xff\xff")
        assert garbage_anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
        again = await stub.ListImports(pb.ListImportsRequest(), metadata=admin)
        assert again.imports[0].imported_by == "tools:ada"
    assert isinstance(server.checked, CheckedCalls)
    assert list(server.checked._wrapped) == [method]
    assert server.checked._wrapped[method][1] is built  # built by the first call only


async def test_a_channel_with_a_token_source_adds_it_unless_the_call_brings_one(
    served: tuple[GrpcServer, str, Credential],
) -> None:
    _, address, tools = served
    own = auth.TokenSource(tools, 300, subject="ops", roles=frozenset({auth.ADMIN}))
    async with open_channel(address, tokens=own) as channel:
        stub = pb_grpc.ResponseServiceStub(channel)
        assert (await stub.ListImports(pb.ListImportsRequest())).imports[0].imported_by == (
            "tools:ops"
        )
        other = auth.bearer(tools.mint(subject="ada", roles=[auth.ADMIN]))
        reply = await stub.ListImports(pb.ListImportsRequest(), metadata=other)
        assert reply.imports[0].imported_by == "tools:ada"
        with pytest.raises(grpc.aio.AioRpcError) as refused:  # its own, and only it
            await stub.ListImports(pb.ListImportsRequest(), metadata=auth.bearer("forged"))
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
