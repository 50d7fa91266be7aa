"""Human output: rich tables on stdout."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

stdout = Console()


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
