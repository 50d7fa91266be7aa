"""Reading the CSV files operators bring (HR roster exports, historical results). The CLI
only turns rows into request messages with their line numbers; the services validate."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import click

ROSTER_COLUMNS = ("employee_id", "email", "unit_id", "start_date", "end_date")


def read_csv(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) with header names normalised; fail early on missing columns."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip().lower() for name in reader.fieldnames or []]
        missing = [column for column in required if column not in header]
        if missing:
            raise click.ClickException(
                f"{path}: missing column(s) {', '.join(missing)}; "
                f"expected a header with {', '.join(required)}"
            )
        reader.fieldnames = header
        for row in reader:
            yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}


def count_data_lines(path: Path) -> int:
    with path.open(encoding="utf-8-sig") as handle:
        return max(0, sum(1 for _ in handle) - 1)
