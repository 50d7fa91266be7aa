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
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column)
    count = 0
    for row in rows:
        table.add_row(*("" if value is None else str(value) for value in row))
        count += 1
    if count == 0:
        stdout.print(f"{title}: none")
    else:
        stdout.print(table)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Human:
    """``print_table`` deferred, for ``emit``."""
    return lambda: print_table(title, columns, rows)


def echo_rejected(rejected: Iterable[tuple[int, str, str]]) -> None:
    """Rejected rows of an import, one per line on stderr: ``line N: field: reason``."""
    for line, field, reason in rejected:
        click.echo(f"  line {line}: {field}: {reason}", err=True)


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
