"""Options several commands share, so each is spelled, checked and explained once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import click
from pulse_common.measures import KIND_NAMES, REPORT_DEFAULTS
from pulse_common.periods import example_of, parse_period, period_of, period_problem

from pulse_cli.context import resolve_settings

F = TypeVar("F", bound=Callable[..., Any])


class PeriodType(click.ParamType[str]):
    """A reporting period, checked by ``pulse_common.periods`` before anything is sent.
    Either granularity passes here: which one the deployment reports in is the services'
    ``PULSE_PERIOD``, and they refuse the other with the same wording."""

    name = "period"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        problem = period_problem(text) if text else None  # "" = not given
        if problem is not None:
            self.fail(problem, param, ctx)
        return text


PERIOD = PeriodType()


def json_option(function: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(
        function
    )


def scope_option(function: F) -> F:
    return click.option(
        "--scope",
        default="",
        show_default="whole organisation",
        metavar="UNIT_ID",
        help="Only this unit's subtree.",
    )(function)


def period_range_options(function: F) -> F:
    """``--from`` / ``--to`` as ``period_from`` / ``period_to`` (empty: every period)."""
    function = click.option(
        "--to",
        "period_to",
        type=PERIOD,
        default="",
        show_default="no bound",
        help=f"Last period, {example_of(None)}.",
    )(function)
    return click.option(
        "--from",
        "period_from",
        type=PERIOD,
        default="",
        show_default="no bound",
        help=f"First period, {example_of(None)}.",
    )(function)


def range_or_recent(period_from: str, period_to: str) -> tuple[str, str]:
    """The range asked for; a missing end is the current period (in the stack's
    ``PULSE_PERIOD``), a missing start as many periods back as the default report covers."""
    last = (
        parse_period(period_to) if period_to else period_of(date.today(), resolve_settings().period)
    )
    first = parse_period(period_from) if period_from else last.shift(-(REPORT_DEFAULTS.periods - 1))
    return first.label, last.label


def hide_empty_defaults(command: click.Command) -> None:
    """With ``show_default`` on for every command, an option whose default is "" or 0 would
    print "[default: ]": those state their default in their help text instead."""
    for param in command.params:
        empty = isinstance(param, click.Option) and (
            param.default == "" or (param.default == 0 and not param.is_flag)
        )
        if empty and isinstance(param, click.Option) and param.show_default is None:
            param.show_default = False
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            hide_empty_defaults(sub)


def kind_option(function: F) -> F:
    """``--kind`` as a survey kind name of ``pulse_common.measures`` (or None)."""
    return click.option("--kind", type=click.Choice(list(KIND_NAMES)), default=None)(function)
