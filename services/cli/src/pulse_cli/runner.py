"""Run one async CLI action against the stack with readable errors."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
import grpc.aio
from pulse.types.v1 import types_pb2

from pulse_cli.context import Stubs, connect, explain_rpc_error, resolve_settings

T = TypeVar("T")


def run_with_stubs(action: Callable[[Stubs], Awaitable[T]]) -> T:
    settings = resolve_settings()

    async def main() -> T:
        async with connect(settings) as stubs:
            return await action(stubs)

    try:
        return asyncio.run(main())
    except grpc.aio.AioRpcError as error:
        raise click.ClickException(explain_rpc_error(error)) from None


def operator_viewer(scope: str | None = None) -> types_pb2.Viewer:
    """The CLI acts as an operator; ``--scope`` narrows what it asks for."""
    return types_pb2.Viewer(viewer_id=f"cli:{getpass.getuser()}", scope_unit_id=scope or "")


def json_option(function: Callable[..., None]) -> Callable[..., None]:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(
        function
    )
