"""Run one call (or one async action) against the stack with readable errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
import grpc.aio

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
    scope: str = "",
) -> Reply:
    """One unary call, e.g. ``unary(lambda s: s.survey.ListItems, request)``, with the
    deadline of ``PULSE_GRPC_DEADLINE_S`` (or ``at_least_s`` for work known to be long).
    ``scope``: the call's token covers only that unit's subtree (``--scope``); the
    services take scope and identity from the token only."""

    async def action(stubs: Stubs) -> Reply:
        timeout = max(at_least_s, stubs.deadline_s)
        return await method(stubs)(request, timeout=timeout, metadata=stubs.scoped(scope))

    return run_with_stubs(action)
