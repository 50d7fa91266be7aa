"""The historical-import CSV parser: rows become ImportRow messages, syntax errors become
RowErrors with the file's line number."""

from __future__ import annotations

from pulse.response.v1 import response_service_pb2 as pb
from pulse.types.v1 import types_pb2 as t
from pulse_response.import_csv import RowError, parse_rows


def test_parses_rows_with_line_numbers(customer_def: t.SurveyDefinition) -> None:
    text = (
        "\ufeffunit_id,period,kind,interaction_date,channel,csat.1,staff.1,ccomment.1\n"
        'store-1,2026-03,customer_post_interaction,2026-03-14,call,5,4,"Kind staff,\n'
        'thank you"\n'
        "\n"
        "store-2,2026-03,CUSTOMER_POST_INTERACTION,2026-03-15,chat,3,x,\n"
        "store-3,2026-03,alien,2026-03-15,chat,3,3,\n"
        "store-4,2026-03\n"
    )
    out = list(parse_rows(text, customer_def))
    first = out[0]
    assert isinstance(first, pb.ImportRow)
    assert first.line == 2
    assert first.unit_id == "store-1"
    assert first.kind == t.SURVEY_KIND_CUSTOMER_POST_INTERACTION
    assert first.interaction_date == "2026-03-14"
    assert first.channel == "call"
    assert [(a.item_id, a.WhichOneof("value")) for a in first.answers] == [
        ("csat.1", "score"),
        ("staff.1", "score"),
        ("ccomment.1", "text"),
    ]
    assert first.answers[2].text == "Kind staff,\nthank you"
    assert out[1:] == [
        RowError(5, "staff.1", "must be a whole number, got 'x'"),
        RowError(
            6, "kind", "must be one of employee_pulse, customer_post_interaction, internal_service"
        ),
        RowError(7, "row", "has 2 cells; the header has 8"),
    ]


def test_unknown_column_rejects_the_header(employee_def: t.SurveyDefinition) -> None:
    out = list(
        parse_rows("unit_id,period,kind,rec.1,bogus\nu,2026-03,employee_pulse,3,4\n", employee_def)
    )
    assert out == [RowError(1, "bogus", "column 'bogus' is not an item of this survey")]


def test_missing_required_column(employee_def: t.SurveyDefinition) -> None:
    out = list(parse_rows("unit_id,rec.1\n", employee_def))
    assert out == [RowError(1, "header", "missing column(s): period, kind")]
    assert list(parse_rows("", employee_def)) == [RowError(1, "header", "the file is empty")]


def test_empty_cells_are_unanswered(employee_def: t.SurveyDefinition) -> None:
    (row,) = parse_rows(
        "unit_id,period,kind,rec.1,rec.2,enps.1\nu1,2026-03,employee_pulse,4,,9\n", employee_def
    )
    assert isinstance(row, pb.ImportRow)
    assert [(a.item_id, a.score) for a in row.answers] == [("rec.1", 4), ("enps.1", 9)]
    assert row.interaction_date == ""
