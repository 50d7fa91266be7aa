"""`pulse import responses` sends its rows in chunks (``ImportRows``, issue 20): at most 500
rows per message and at most about a megabyte of them, every row once, in file order."""

from __future__ import annotations

from pulse.response.v1 import response_service_pb2 as pb
from pulse.types.v1 import types_pb2 as t
from pulse_cli.response_commands import IMPORT_CHUNK, IMPORT_CHUNK_BYTES, _chunks


def row(line: int, comment: str = "") -> pb.ImportRow:
    answers = [t.Answer(item_id="rec.1", score=4)]
    if comment:
        answers.append(t.Answer(item_id="ecomment.1", text=comment))
    return pb.ImportRow(line=line, unit_id="n1", period="2024-03", answers=answers)


def test_rows_go_500_at_a_time_in_order() -> None:
    rows = [row(line) for line in range(2, 1203)]
    chunks = list(_chunks(rows))
    assert [len(c) for c in chunks] == [IMPORT_CHUNK, IMPORT_CHUNK, 201]
    assert [r.line for c in chunks for r in c] == [r.line for r in rows]


def test_large_rows_make_smaller_chunks() -> None:
    rows = [row(line, "é" * 2000) for line in range(2, 702)]  # ~4 KB each
    chunks = list(_chunks(rows))
    assert all(sum(r.ByteSize() for r in c) <= IMPORT_CHUNK_BYTES for c in chunks)
    assert len(chunks) > 2
    assert [r.line for c in chunks for r in c] == [r.line for r in rows]
    assert not list(_chunks([]))
