"""How the demo shows itself: progress (rich bars in a terminal, plain timestamped lines when
stderr is a file or a pipe) and the end of the run, written for a leader: what was planted
beside what the report found, driver by driver, a few employee links of the live wave, then
the verdict in words, the dashboard link and where to click next as the last lines."""

from __future__ import annotations

import time

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

from pulse_cli.demo.links import DASHBOARD
from pulse_cli.demo.result import DemoResult
from pulse_cli.demo.run import Progress

PLAIN_EVERY_S = 5.0  # a plain progress line per stage at most this often (and at its end)


class RowsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rows/s", style="cyan")


def rich_bars(console: Console) -> RichProgress:
    return RichProgress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        RowsPerSecond(),
        TimeElapsedColumn(),
        console=console,
    )


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


class PlainProgress(Progress):
    """Plain lines for a log file: ``[  12.3 s] stage: done/total``, per stage at most every
    ``PLAIN_EVERY_S`` seconds and when it completes, each line flushed as it is written."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.monotonic()
        self.last: dict[str, float] = {}
        self.finished: set[str] = set()

    def _line(self, text: str) -> None:
        self.console.print(f"[{time.monotonic() - self.started:>6.1f} s] {text}", soft_wrap=True)
        self.console.file.flush()

    def stage(self, name: str, done: int, total: int) -> None:
        now = time.monotonic()
        complete = done >= total
        if complete and name in self.finished:
            return
        if not complete and now - self.last.get(name, -PLAIN_EVERY_S) < PLAIN_EVERY_S:
            return
        self.last[name] = now
        if complete:
            self.finished.add(name)
        else:
            self.finished.discard(name)
        self._line(f"{name}: {done:,}/{total:,}")

    def note(self, text: str) -> None:
        self._line(text)


def _fmt(value: float) -> str:
    return "n/a" if value != value else f"{value:+.2f}"  # NaN != NaN


def show_result(console: Console, result: DemoResult, web_url: str | None) -> None:
    """The table of drivers, the counts, then the leader's last lines."""
    table = Table(
        title="What the demo planted beside what the report found "
        f"({result.predictor.split('.')[-1]} and the other drivers vs {result.outcome})",
        show_header=True,
    )
    for column, justify in (
        ("driver", "left"),
        ("planted effect", "right"),
        ("planted r", "right"),
        ("report r [95 % CI]", "right"),
        ("covers", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for d in result.drivers:
        table.add_row(
            d.name.removeprefix("treatment."),
            _fmt(d.effect),
            _fmt(d.planted),
            f"{_fmt(d.estimate)} [{_fmt(d.ci_low)}, {_fmt(d.ci_high)}]",
            "yes" if d.covered else "NO",
        )
    console.print(table)
    for d in result.drivers:
        console.print(f"  {d.name.removeprefix('treatment.')}: {d.role}")
    covered = sum(d.covered for d in result.drivers)
    console.print(
        f"'planted r' is what the report should find: the generator's Monte-Carlo correlation "
        f"of team means once answers are noisy and teams small. {covered} of "
        f"{len(result.drivers)} intervals cover it."
    )
    console.print(
        f"{result.units_reported} teams reported ({result.units_suppressed} suppressed); "
        f"{result.responses_submitted:,} responses submitted, {result.responses_counted:,} "
        f"counted; {result.elapsed_s:.0f} s."
    )
    if result.responses_counted != result.responses_submitted:
        console.print(
            "[bold red]Not every submitted response was counted[/] "
            f"({result.responses_counted} of {result.responses_submitted})."
        )
    survey_lines(console, result, web_url)
    leader_lines(console, result, web_url)


def survey_lines(console: Console, result: DemoResult, web_url: str | None) -> None:
    """A few employee links of the current month's live wave: they open the form."""
    if not web_url or not result.survey_links:
        return
    console.print("Employee survey links of this month's live wave (no sign-in):")
    for contact, path in result.survey_links.items():
        console.print(f"  {contact}: {web_url}{path}", soft_wrap=True)


def leader_lines(console: Console, result: DemoResult, web_url: str | None) -> None:
    """The last lines: the verdict in words, the dashboard link, where to click next."""
    console.rule("For a leader")
    if result.verdict_text:
        console.print(f"[bold]Verdict:[/] {result.verdict_text}")
    if not web_url:
        console.print("(the web front is not installed: no dashboard)")
        return
    console.print("Sign in as [bold]leader[/] / [bold]pulse-demo[/].")
    for label, path in result.next_steps.items():
        if label == DASHBOARD:
            continue
        console.print(f"  {label}: {web_url}{path}", soft_wrap=True)
    dashboard = result.next_steps.get(DASHBOARD, "/dashboard")
    console.print(f"[bold]Dashboard:[/] {web_url}{dashboard}", soft_wrap=True)
