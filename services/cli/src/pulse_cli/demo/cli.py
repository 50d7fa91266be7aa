"""``pulse demo``: start a private embedded stack, drive a generated organisation through it,
print the verdict beside the planted truth, and keep the stack up for the dashboard until
Ctrl-C. Progress and messages go to stderr; ``--json`` prints one JSON object on stdout."""

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
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichProgress
from rich.table import Table
from rich.text import Text

from pulse_cli import stack
from pulse_cli.context import connect, explain_rpc_error
from pulse_cli.demo.config import DemoConfig
from pulse_cli.demo.driver import run_demo
from pulse_cli.demo.result import DemoResult
from pulse_cli.demo.run import DemoFailed, Progress
from pulse_cli.demo.setup import demo_env, demo_start_month

console = Console(stderr=True)


class RowsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rows/s", style="cyan")


class RichDemoProgress(Progress):
    """One bar per stage, created when the stage first reports."""

    def __init__(self, bars: RichProgress) -> None:
        self.bars = bars
        self.tasks: dict[str, TaskID] = {}

    def stage(self, name: str, done: int, total: int) -> None:
        if name not in self.tasks:
            self.tasks[name] = self.bars.add_task(name, total=max(total, 1))
        self.bars.update(self.tasks[name], completed=done, total=max(total, done, 1))

    def note(self, text: str) -> None:
        self.bars.console.print(f"  {text}")


def demo_data_dir() -> Path:
    """The demo's own stack lives apart from ``pulse dev up``'s (and starts empty)."""
    base = Path(os.environ.get("PULSE_DATA_DIR") or ".pulse")
    return (base / "demo").resolve()


def _start_stack(data_dir: Path, config: DemoConfig) -> stack.StackState:
    if stack.load_state(data_dir) is not None:
        console.print("stopping the previous demo stack")
        stack.down(data_dir, progress=lambda line: console.print(f"  {line}"))
    shutil.rmtree(data_dir, ignore_errors=True)  # a fresh org every run
    # The services inherit this process's environment.
    os.environ.update(demo_env(config))
    os.environ["PULSE_DATA_DIR"] = str(data_dir)
    for name in ("SURVEY", "RESPONSE", "CORRELATION", "WEB"):
        os.environ.pop(f"PULSE_{name}_ADDR", None)  # free ports, never a dev stack's
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
        columns = (
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            RowsPerSecond(),
            TimeElapsedColumn(),
        )
        with RichProgress(*columns, console=console) as bars:
            async with connect(settings, TOOLS) as stubs:
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


def _verdict(result: DemoResult, web_url: str | None) -> None:
    e = result.estimate
    table = Table(title="Pulse demo: planted truth beside the estimate", show_header=True)
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("planted latent correlation", f"{result.true_latent_r:.3f}")
    table.add_row("expected after attenuation (Monte Carlo)", f"{result.expected_observed_r:.3f}")
    table.add_row(
        f"estimate r ({result.predictor} vs {result.outcome})",
        f"{e.r:.3f}  [{e.ci_low:.3f}, {e.ci_high:.3f}]",
    )
    table.add_row("disattenuated estimate", f"{e.disattenuated_r:.3f}")
    table.add_row("r of the generated answers (oracle)", f"{result.generated_r:.3f}")
    table.add_row(
        "units reported / suppressed", f"{result.units_reported} / {result.units_suppressed}"
    )
    table.add_row(
        "responses submitted / counted",
        f"{result.responses_submitted:,} / {result.responses_counted:,}",
    )
    table.add_row("elapsed", f"{result.elapsed_s:.0f} s")
    console.print(table)
    covered = "covers" if result.interval_covers_expected else "does NOT cover"
    console.print(f"The 95 % interval {covered} the value the generator expects.")
    if result.verdict_text:
        console.print(f"[bold]Verdict ({result.verdict_level}):[/] {result.verdict_text}")
    if result.responses_counted != result.responses_submitted:
        console.print(
            "[bold red]Not every submitted response was counted[/] "
            f"({result.responses_counted} of {result.responses_submitted})."
        )
    console.print(f"Report {result.report_id}")
    if web_url:
        console.print(f"Dashboard: [bold]{web_url}[/]")
        console.print(f"This report: {web_url}/reports/{result.report_id}")


def _wait_for_ctrl_c() -> None:
    console.print("The stack keeps running for the dashboard; press Ctrl-C to stop it.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.is_set():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass


def run_demo_command(
    size: str = "medium",
    seed: int = 1,
    as_json: bool = False,
    keep_running: bool = True,
    interactions: str = "nats",
) -> None:
    """Entry point of ``pulse demo`` (and ``make demo``): ``size`` in SIZES, ``interactions``
    "nats" (events) or "grpc" (RecordInteraction), ``keep_running`` waits for Ctrl-C."""
    try:
        config = DemoConfig(size=size, start_month=demo_start_month())
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    data_dir = demo_data_dir()
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
        _verdict(result, state.web_url)
        if as_json:
            payload = {**result.to_json(), "dashboard": state.web_url}
            sys.stdout.write(json.dumps(payload) + "\n")
            sys.stdout.flush()
        if keep_running:
            _wait_for_ctrl_c()
    finally:
        console.print("stopping the demo stack")
        stack.down(data_dir, progress=lambda line: console.print(f"  {line}"))
