"""Historical-import CSV: a pure parser the CLI uses to turn a file into ImportRow messages.

Header: ``unit_id,period,kind[,interaction_date,channel],<item_id>...`` (one column per
item; an empty cell is an unanswered item). The parser checks only the file's syntax
(columns, whole-number scores, kind names); the service validates the rows against the
survey version and reports every bad row too."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from pulse.response.v1 import response_service_pb2 as pb
from pulse.types.v1 import types_pb2
from pulse_common.measures import KIND_NAMES, parse_kind

REQUIRED_COLUMNS = ("unit_id", "period", "kind")
OPTIONAL_COLUMNS = ("interaction_date", "channel")


@dataclass(frozen=True)
class RowError:
    """A row (or, with line 1 and field "header", the whole file) that cannot be sent."""

    line: int
    field: str
    reason: str


def parse_rows(
    text: str, definition: types_pb2.SurveyDefinition
) -> Iterator[pb.ImportRow | RowError]:
    """Yield one ImportRow or RowError per data row, in file order. A bad header yields a
    single RowError(line=1, field="header" or the column) and nothing else."""
    items = {item.item_id: item for item in definition.items}
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header_row = next(reader, None)
    if header_row is None:
        yield RowError(1, "header", "the file is empty")
        return
    header = [name.strip() for name in header_row]
    problem = _header_problem(header, items)
    if problem is not None:
        yield problem
        return
    line = reader.line_num + 1
    for cells in reader:
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        if len(cells) != len(header):
            yield RowError(start, "row", f"has {len(cells)} cells; the header has {len(header)}")
            continue
        yield _row(start, dict(zip(header, (c.strip() for c in cells), strict=True)), items)


def _header_problem(header: list[str], items: dict[str, types_pb2.Item]) -> RowError | None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            return RowError(1, name or "header", f"column {name!r} appears twice")
        seen.add(name)
        if name not in items and name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
            return RowError(1, name or "header", f"column {name!r} is not an item of this survey")
    missing = [name for name in REQUIRED_COLUMNS if name not in seen]
    if missing:
        return RowError(1, "header", f"missing column(s): {', '.join(missing)}")
    return None


def _row(
    line: int, cells: dict[str, str], items: dict[str, types_pb2.Item]
) -> pb.ImportRow | RowError:
    kind = parse_kind(cells["kind"])
    if kind is None:
        return RowError(line, "kind", f"must be one of {', '.join(KIND_NAMES)}")
    row = pb.ImportRow(
        line=line,
        unit_id=cells["unit_id"],
        period=cells["period"],
        kind=types_pb2.SurveyKind.ValueType(kind),
        interaction_date=cells.get("interaction_date", ""),
        channel=cells.get("channel", ""),
    )
    for item_id, item in items.items():
        value = cells.get(item_id, "")
        if not value:
            continue
        if item.scale == types_pb2.SCALE_FREE_TEXT:
            row.answers.append(types_pb2.Answer(item_id=item_id, text=value))
            continue
        try:
            score = int(value)
        except ValueError:
            return RowError(line, item_id, f"must be a whole number, got {value!r}")
        if not -(2**31) <= score < 2**31:
            return RowError(line, item_id, f"is out of range, got {value!r}")
        row.answers.append(types_pb2.Answer(item_id=item_id, score=score))
    return row
