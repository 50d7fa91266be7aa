"""``pulse``: the command line for operators and analysts."""

from __future__ import annotations

import click

from pulse_cli.dev_commands import dev


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pulse-cli")
def cli() -> None:
    """Pulse: how you treat employees, and whether customers feel it."""


cli.add_command(dev)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
