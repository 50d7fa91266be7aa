"""``pulse demo``: start a private embedded stack, drive a generated organisation through it,
print what was planted beside what the report found and the leader's next clicks, and keep
the stack up for the dashboard until Ctrl-C. Progress and messages go to stderr (bars in a
terminal, plain lines in a file); ``--json`` prints one JSON object on stdout.

Where the stack lives: ``PULSE_DATA_DIR`` when set (so ``pulse dev status`` with the same
environment sees it), else ``.pulse/demo`` (apart from ``pulse dev up``'s ``.pulse``). The
demo starts from an empty directory each run: it clears one only when it is empty or a
previous demo's (``DEMO_MARKER``), never another stack's data. ``PULSE_*_ADDR``,
``PULSE_DATABASE_URL`` and ``PULSE_NATS_URL`` are honoured as ``pulse dev up`` honours them."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import click
import grpc.aio
from pulse_common.config import ConfigError, load_settings
from pulse_common.messaging import connect_nats
from pulse_common.nats_auth import TOOLS, credentials
from rich.console import Console

from pulse_cli import stack
from pulse_cli.context import connect, explain_rpc_error
from pulse_cli.demo.config import SIZES, DemoConfig
from pulse_cli.demo.display import PlainProgress, RichDemoProgress, rich_bars, show_result
from pulse_cli.demo.driver import run_demo
from pulse_cli.demo.history import history_start_month
from pulse_cli.demo.result import DemoResult
from pulse_cli.demo.run import DemoFailed
from pulse_cli.demo.setup import demo_env

console = Console(stderr=True)
DEMO_MARKER = "pulse-demo.marker"


def demo_data_dir() -> Path:
    """``PULSE_DATA_DIR`` itself when set, else ``.pulse/demo``."""
    given = os.environ.get("PULSE_DATA_DIR")
    return Path(given or Path(".pulse") / "demo").resolve()


def prepare_data_dir(data_dir: Path, own: bool) -> None:
    """Stop a previous demo's stack and clear its data. ``own``: the demo's default
    directory; any other must be empty or a previous demo's (never a ``pulse dev up``
    stack's or a deployment's data)."""
    if data_dir.exists() and any(data_dir.iterdir()):
        if not own and not (data_dir / DEMO_MARKER).exists():
            raise click.ClickException(
                f"{data_dir} holds data that is not a previous demo's; the demo starts from an "
                "empty directory: point PULSE_DATA_DIR at a new one (or unset it)"
            )
        if stack.load_state(data_dir) is not None:
            console.print("stopping the previous demo stack")
            stack.down(data_dir, progress=lambda line: console.print(f"  {line}"))
        shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / DEMO_MARKER).write_text("created by pulse demo; cleared by the next run\n")


def _start_stack(data_dir: Path, config: DemoConfig) -> stack.StackState:
    prepare_data_dir(data_dir, own=not os.environ.get("PULSE_DATA_DIR"))
    # The services inherit this process's environment; addresses the user set are kept.
    os.environ.update(demo_env(config))
    os.environ["PULSE_DATA_DIR"] = str(data_dir)
    settings = load_settings()
    console.print("[bold]starting the embedded stack[/] (PostgreSQL, NATS, services)")
    return stack.up(settings, progress=lambda line: console.print(f"  {line}"))


async def _drive(
    state: stack.StackState, config: DemoConfig, seed: int, interactions: str
) -> DemoResult:
    settings = load_settings({**os.environ, **state.env()})
    # The demo acts as the embedded default's tools: a CRM publishing interactions, a mail
    # adapter reading invitations, and (over gRPC) admin, respondent front and analyst.
    login = credentials(settings, TOOLS)
    nc = await connect_nats(
        state.nats_url,
        "pulse-demo",
        user=login[0] if login else "",
        password=login[1] if login else "",
    )
    try:
        async with connect(settings, TOOLS) as stubs:
            if not console.is_terminal:
                return await run_demo(
                    stubs,
                    nc.jetstream(),
                    config,
                    seed,
                    PlainProgress(console),
                    interactions=interactions,
                )
            with rich_bars(console) as bars:
                return await run_demo(
                    stubs,
                    nc.jetstream(),
                    config,
                    seed,
                    RichDemoProgress(bars),
                    interactions=interactions,
                )
    finally:
        await nc.close()


def _wait_for_ctrl_c(data_dir: Path) -> None:
    console.print(
        f"The stack keeps running for the dashboard (PULSE_DATA_DIR={data_dir} pulse dev "
        "status); press Ctrl-C to stop it."
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.is_set():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass


def run_demo_command(
    size: str = "small",
    seed: int = 1,
    as_json: bool = False,
    keep_running: bool = True,
    interactions: str = "nats",
) -> None:
    """Entry point of ``pulse demo`` (and ``make demo``): ``size`` in SIZES, ``interactions``
    "nats" (events) or "grpc" (RecordInteraction), ``keep_running`` waits for Ctrl-C."""
    try:
        start = history_start_month(SIZES[size].periods) if size in SIZES else ""
        config = DemoConfig(size=size, start_month=start)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    data_dir = demo_data_dir()
    started = time.monotonic()
    try:
        state = _start_stack(data_dir, config)
    except (stack.StackError, ConfigError) as error:
        raise click.ClickException(f"could not start the stack: {error}") from None
    try:
        try:
            result = asyncio.run(_drive(state, config, seed, interactions))
        except grpc.aio.AioRpcError as error:
            raise click.ClickException(explain_rpc_error(error)) from None
        except DemoFailed as error:
            raise click.ClickException(str(error)) from None
        # Wall clock from the command's start, stack start included.
        result.elapsed_s = round(time.monotonic() - started, 2)
        show_result(console, result, state.web_url)
        if as_json:
            payload = {**result.to_json(), "dashboard": state.web_url}
            sys.stdout.write(json.dumps(payload) + "\n")
            sys.stdout.flush()
        if keep_running:
            _wait_for_ctrl_c(data_dir)
    finally:
        console.print("stopping the demo stack")
        stack.down(data_dir, progress=lambda line: console.print(f"  {line}"))
