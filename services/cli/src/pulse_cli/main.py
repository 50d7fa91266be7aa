"""``pulse``: the command line for operators and analysts."""

from __future__ import annotations

import click

from pulse_cli.action_commands import action
from pulse_cli.auth_commands import auth_group
from pulse_cli.chain_commands import chain
from pulse_cli.deadletter_commands import deadletter
from pulse_cli.demo.cli import run_demo_command
from pulse_cli.demo.config import SIZES
from pulse_cli.dev_commands import dev
from pulse_cli.follow_up_commands import followup
from pulse_cli.interaction_commands import interaction, invitations
from pulse_cli.nats_commands import nats_group
from pulse_cli.options import hide_empty_defaults, json_option
from pulse_cli.org_commands import org
from pulse_cli.report_commands import report
from pulse_cli.response_commands import comments, import_group, recognition
from pulse_cli.score_commands import scores, trends
from pulse_cli.serves_commands import serves
from pulse_cli.survey_commands import items, survey
from pulse_cli.wave_commands import wave


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(package_name="pulse-cli")
def cli() -> None:
    """Pulse: how you treat employees, and whether customers feel it.

    Start the local stack with `pulse dev up`; every other command talks to it."""


for command in (
    dev,
    auth_group,
    nats_group,
    deadletter,
    org,
    action,
    followup,
    items,
    survey,
    wave,
    interaction,
    invitations,
    import_group,
    comments,
    recognition,
    scores,
    trends,
    report,
):
    cli.add_command(command)
report.add_command(chain)
org.add_command(serves)


@cli.command("demo")
@click.option(
    "--size",
    type=click.Choice(list(SIZES)),
    default="small",
    show_default=True,
    help="Organisation size: tiny = 14 teams over 3 months (for tests, about a minute);"
    " small = 36 teams over 6 months; medium = 140 teams, large = 350 teams, 12 months each.",
)
@click.option(
    "--seed", type=int, default=1, show_default=True, help="Same seed, same organisation."
)
@json_option
@click.option(
    "--interactions",
    type=click.Choice(["nats", "grpc"]),
    default="nats",
    show_default=True,
    help="Send customer interactions as NATS events (as a CRM would) or RecordInteraction.",
)
@click.option(
    "--no-wait",
    is_flag=True,
    help="Stop the stack and exit once the verdict is printed, instead of keeping it up for"
    " the web front until Ctrl-C (for scripts and CI).",
)
def demo(size: str, seed: int, as_json: bool, interactions: str, no_wait: bool) -> None:
    """Generate an organisation with a planted truth, drive it through the real services on
    a private embedded stack, print the verdict beside the truth; Ctrl-C stops everything."""
    run_demo_command(
        size=size, seed=seed, as_json=as_json, keep_running=not no_wait, interactions=interactions
    )


hide_empty_defaults(cli)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
