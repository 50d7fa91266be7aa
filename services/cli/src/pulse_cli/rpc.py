"""Run one call (or one async action) against the stack with readable errors."""

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
Request = TypeVar("Request")
Reply = TypeVar("Reply")


def run_with_stubs(action: Callable[[Stubs], Awaitable[T]]) -> T:
    """Connect, run ``action``, close; a failed call becomes a ClickException that says what
    to fix."""
    settings = resolve_settings()

    async def main() -> T:
        async with connect(settings) as stubs:
            return await action(stubs)

    try:
        return asyncio.run(main())
    except grpc.aio.AioRpcError as error:
        raise click.ClickException(explain_rpc_error(error)) from None


def unary(
    method: Callable[[Stubs], grpc.aio.UnaryUnaryMultiCallable[Request, Reply]],
    request: Request,
    *,
    at_least_s: float = 0.0,
) -> Reply:
    """One unary call, e.g. ``unary(lambda s: s.survey.ListItems, request)``, with the
    deadline of ``PULSE_GRPC_DEADLINE_S`` (or ``at_least_s`` for work known to be long)."""

    async def action(stubs: Stubs) -> Reply:
        return await method(stubs)(request, timeout=max(at_least_s, stubs.deadline_s))

    return run_with_stubs(action)


def operator_viewer(scope: str | None = None) -> types_pb2.Viewer:
    """The CLI acts as an operator; ``--scope`` narrows what it asks for."""
    return types_pb2.Viewer(viewer_id=f"cli:{getpass.getuser()}", scope_unit_id=scope or "")
