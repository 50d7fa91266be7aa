"""Everything a command prints: one JSON document on stdout for scripts (``--json``), or
human text and rich tables on stdout, with progress bars and rejected rows on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import click
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from pulse_cli.context import console

stdout = Console()

# Human output: a line, or a function that prints (tables are built only when shown).
Human = str | Callable[[], None] | None


def to_dict(message: Message) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True)


def emit(as_json: bool, payload: Message | Mapping[str, Any], human: Human = None) -> None:
    """One JSON document on stdout for scripts, or the human rendering."""
    if as_json:
        document = to_dict(payload) if isinstance(payload, Message) else dict(payload)
        sys.stdout.write(json.dumps(document, default=str) + "\n")
    elif callable(human):
        human()
    elif human is not None:
        click.echo(human)


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A table that never cuts a value short: a column whose values are single words (ids,
    periods, numbers) keeps each whole on one line, so an id can be copied; text columns wrap.
    When the whole words alone are wider than the terminal, each row is printed as a block
    of "column: value" lines instead."""
    cells = [["" if value is None else str(value) for value in row] for row in rows]
    if not cells:
        stdout.print(f"{title}: none")
        return
    widths: list[int | None] = []
    for index, column in enumerate(columns):
        values = [row[index] for row in cells if index < len(row)]
        single = all(" " not in value for value in values)
        widths.append(max([len(column), *(len(v) for v in values)]) if single else None)
    # Borders and padding take 3 characters a column plus 1; a text column needs some room.
    needed = sum(w if w is not None else 12 for w in widths) + 3 * len(columns) + 1
    if needed > stdout.width:
        _print_records(title, columns, cells)
        return
    table = Table(title=title, show_lines=False)
    for column, width in zip(columns, widths, strict=True):
        if width is not None:
            table.add_column(column, no_wrap=True, min_width=width)
        else:
            table.add_column(column, overflow="fold")
    for row in cells:
        table.add_row(*row)
    stdout.print(table)


def _print_records(title: str, columns: Sequence[str], cells: list[list[str]]) -> None:
    label = max(len(column) for column in columns)
    click.echo(title)
    for row in cells:
        click.echo("")
        for column, value in zip(columns, row, strict=False):
            click.echo(f"  {column.ljust(label)}  {value}")


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Human:
    """``print_table`` deferred, for ``emit``."""
    return lambda: print_table(title, columns, rows)


def echo_rejected(rejected: Iterable[tuple[int, str, str]]) -> None:
    """Rejected rows of an import, one per line on stderr: ``line N: field: reason``."""
    for line, field, reason in rejected:
        # Some services' reasons start with the field already ("email: must be ..."): once.
        text = reason.removeprefix(f"{field}: ")
        click.echo(f"  line {line}: {field}: {text}", err=True)


@contextmanager
def row_progress(
    title: str,
    total: int,
    *,
    hidden: bool,
    extra: Sequence[ProgressColumn] = (),
    **fields: Any,
) -> Iterator[Progress]:
    """A progress bar over the rows of an import (on stderr; ``hidden`` with --json). The
    bar's single task is ``progress.tasks[0]``; ``fields`` are its initial fields, which the
    ``extra`` columns may show."""
    with Progress(
        TextColumn(f"[bold]{title}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} rows"),
        *extra,
        TimeElapsedColumn(),
        console=console,
        disable=hidden,
    ) as progress:
        progress.add_task("rows", total=total, **fields)
        yield progress
