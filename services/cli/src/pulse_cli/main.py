"""``pulse``: the command line for operators and analysts."""

from __future__ import annotations

import click

from pulse_cli.dev_commands import dev
from pulse_cli.org_commands import org
from pulse_cli.report_commands import report, scores, trends
from pulse_cli.response_commands import comments, import_group, recognition
from pulse_cli.survey_commands import interaction, invitations, items, survey, wave


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pulse-cli")
def cli() -> None:
    """Pulse: how you treat employees, and whether customers feel it.

    Start the local stack with `pulse dev up`; every other command talks to it."""


for command in (
    dev,
    org,
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


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
