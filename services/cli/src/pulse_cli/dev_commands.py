"""``pulse dev``: the local stack."""

from __future__ import annotations

from pathlib import Path

import click

from pulse_cli import stack
from pulse_cli.context import console, resolve_settings
from pulse_cli.options import json_option
from pulse_cli.output import emit


@click.group()
def dev() -> None:
    """Start, inspect and stop the local stack (PostgreSQL, NATS, all services)."""


@dev.command("up")
@click.option("--no-web", is_flag=True, help="Do not start the web front.")
@click.option(
    "--cluster",
    is_flag=True,
    help="3 JetStream nodes, PostgreSQL primary + synchronous standby, 2 instances of each "
    "service (see README: Running beyond one machine).",
)
@json_option
def dev_up(no_web: bool, cluster: bool, as_json: bool) -> None:
    """Start everything and wait until every health check reports SERVING."""
    settings = resolve_settings()
    try:
        if cluster:
            from pulse_cli.cluster_stack import up_cluster

            state = up_cluster(settings, with_web=not no_web, progress=console.print)
        else:
            state = stack.up(settings, with_web=not no_web, progress=console.print)
    except stack.StackError as error:
        raise click.ClickException(str(error)) from None
    emit(as_json, {"addresses": state.addresses, **state.env()})
    if not as_json:
        console.print("[bold green]Pulse is up[/]")
        for name, address in state.addresses.items():
            click.echo(f"  {name:<12} {address}")
        click.echo(f"  {'postgres':<12} {state.database_url}")
        click.echo(f"  {'nats':<12} {state.nats_url}")
        click.echo("Stop with: pulse dev down")


@dev.command("down")
@json_option
def dev_down(as_json: bool) -> None:
    """Stop every process `pulse dev up` started."""
    settings = resolve_settings()
    data_dir = Path(settings.data_dir)
    stopped = stack.down(data_dir) if as_json else stack.down(data_dir, progress=console.print)
    emit(as_json, {"stopped": bool(stopped)}, None if stopped else "nothing to stop")


@dev.command("status")
@json_option
def dev_status(as_json: bool) -> None:
    """Health of each service of the running stack."""
    settings = resolve_settings()
    result = stack.status(Path(settings.data_dir))
    if not result:
        raise click.ClickException("no stack is running (start one with `pulse dev up`)")
    emit(as_json, result, "\n".join(f"{k:<12} {v}" for k, v in result.items()))
