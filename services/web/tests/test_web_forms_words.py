"""Issue 22's form and page rules, pure: errors beside their field in words, notes without
developer messages, natural order and indented trees, the heatmap's legend, static URLs."""

from __future__ import annotations

import pytest
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse_common import errors
from pulse_web import heatmap
from pulse_web.filters import checked_unit_and_periods
from pulse_web.form_errors import FormErrors, form_field, words
from pulse_web.leader_notes import leader_note
from pulse_web.org import UnitInfo, natural_key, tree_units, unknown_unit
from pulse_web.static_files import static_url


def test_every_bad_field_is_reported_beside_it_in_words() -> None:
    found = FormErrors()
    fields = {"scope": "bad unit!", "from": "March", "to": "2026-13"}
    unit, first, last = checked_unit_and_periods(fields, "scope", "month", found)
    assert (unit, first, last) == ("", "", "")
    assert set(found.by_field) == {"scope", "from", "to"}
    assert found.by_field["from"].startswith("Must be a month like")
    lines = found.summary()
    assert [line["target"] for line in lines] == ["scope", "from", "to"]  # the form's order
    assert lines[1]["text"].startswith("From period: Must be a month like")


def test_a_range_error_names_the_field_as_the_reader_knows_it() -> None:
    found = FormErrors()
    fields = {"from": "2026-05", "to": "2026-02"}
    assert checked_unit_and_periods(fields, "scope", "month", found) == ("", "", "")
    assert found.by_field == {"to": "Must not be before the From period (2026-05)"}


def test_service_field_names_and_doubled_prefixes_become_the_forms() -> None:
    assert form_field("period_from") == "from"
    assert form_field("scope_unit_id") == "scope"
    assert form_field("predictors") == "predictors"  # the report form's checkboxes
    assert form_field("covariates") == ""
    assert words("email: email: must be an e-mail address") == "Must be an e-mail address"
    found = FormErrors()
    found.add(errors.InvalidArgument("covariates", "choose one of a, b"))
    assert found.summary() == [{"target": "_form", "text": "Choose one of a, b"}]


def test_unknown_units_are_refused_with_a_close_match() -> None:
    units = [UnitInfo("root", "Root", "", 0), UnitInfo("n1", "Team N1", "root", 1)]
    error = unknown_unit("scope", "n11", units)
    assert error.field == "scope"
    assert "'n11' is not a unit of the organisation" in error.description
    assert "did you mean Team N1 (n1)?" in error.description


def test_teams_sort_naturally_and_pickers_follow_the_tree() -> None:
    names = ["Team 10", "Team 2", "team 1", "Team 1a"]
    assert sorted(names, key=natural_key) == ["team 1", "Team 1a", "Team 2", "Team 10"]
    units = [
        UnitInfo("t10", "Team 10", "north", 2),
        UnitInfo("south", "South", "root", 1),
        UnitInfo("t2", "Team 2", "north", 2),
        UnitInfo("north", "North", "root", 1),
        UnitInfo("root", "Root", "", 0),
        UnitInfo("s1", "Team S1", "south", 2),
    ]
    order = [u.unit_id for u in tree_units(units)]
    assert order == ["root", "north", "t2", "t10", "south", "s1"]


def test_heatmap_rows_sort_naturally_and_the_legend_explains_every_sign() -> None:
    cells = [
        corr_pb.ScoreCell(unit_id=u, unit_name=n, period="2026-01", construct="csat", n=9, value=50)
        for u, n in (("a", "Team 10"), ("b", "Team 2"), ("c", "Team 1"))
    ]
    cells.append(
        corr_pb.ScoreCell(unit_id="a", unit_name="Team 10", period="2026-02", construct="csat", n=9)
    )
    (table,) = heatmap.build_tables(cells, 5)
    assert [row.unit_name for row in table.rows] == ["Team 1", "Team 2", "Team 10"]
    empty = table.rows[0].cells[1]
    assert (empty.text, empty.css_class) == ("–", "heat-none")
    texts = {entry.sample: entry.text for entry in table.legend}
    assert texts["–"] == empty.description == heatmap.NO_DATA
    assert "too few responses" in texts
    assert [entry.sample for entry in table.legend[:3]] == ["0", "50", "100"]


def test_suppression_never_shows_a_code() -> None:
    from pulse_web.words import suppression_words

    text = suppression_words("rolled_up_into:P-02", 5)
    assert "rolled_up_into" not in text
    assert text == "not shown: fewer than 5 responses; counted in the unit above it (P-02)"


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        (
            "treatment.fairness: Pearson not computed: need at least 4 complete (x, y) pairs"
            " for a pearson correlation (got 0)",
            "Fairness: Pearson could not be computed: not enough data: it needs at least 4 units"
            " with figures for both measures, and there are 0.",
        ),
        (
            "rwg(j) for treatment.voice not computed: groups: r_wg(j) needs at least one group"
            " with two or more respondents",
            "rwg(j) for Voice could not be computed: no unit has two or more answers.",
        ),
        (
            "driver fair.1 not computed: x is constant; the statistic is undefined",
            "driver Fairness: I am treated fairly could not be computed: the figures do not"
            " vary, so it is not defined.",
        ),
        ("Units are few; read with care.", "Units are few; read with care."),
    ],
)
def test_leader_pages_read_notes_not_developer_messages(note: str, expected: str) -> None:
    items = {"fair.1": "Fairness: I am treated fairly"}
    assert leader_note(note, items) == expected


def test_static_urls_carry_their_content_hash() -> None:
    url = static_url("style.css")
    assert url.startswith("/static/style.css?v=")
    assert len(url.rsplit("=", 1)[1]) == 12
    with pytest.raises(ValueError, match="no static file"):
        static_url("../app.py")


def test_report_tables_are_tidy_with_names_and_codes() -> None:
    from pulse_web.report_tables import COLUMNS, tables

    nan = float("nan")
    estimate = corr_pb.Estimate(method="pearson", r=0.41, p_value=0.02, ci_low=0.1, ci_high=0.6)
    estimate.n = 12
    report = corr_pb.LinkageReport(
        report_id="r1",
        outcome="csat",
        min_group_size=5,
        linkages=[
            corr_pb.PredictorLinkage(
                predictor="treatment.fairness",
                pearson=estimate,
                spearman=corr_pb.Estimate(
                    method="spearman",
                    r=nan,
                    ci_low=nan,
                    ci_high=nan,
                    p_value=nan,
                    n=3,
                    note="need at least 4 complete (x, y) pairs for a spearman correlation (got 3)",
                ),
                lags=[corr_pb.LagEstimate(lag=-1, estimate=estimate, units=6)],
                points=[corr_pb.UnitPoint(unit_id="n1", unit_name="Team N1", predictor=70)],
            )
        ],
        drivers=[corr_pb.Driver(name="fair.1", level="item", estimate=estimate, q_value=0.04)],
        suppressions=[corr_pb.Suppression(unit_id="s4", reason="rolled_up_into:south")],
    )
    found = {t.name: t for t in tables(report, {"fair.1": "Fairness: I am treated fairly"})}
    for table in found.values():
        assert all(column in COLUMNS for column in table.header)
        assert all(len(row) == len(table.header) for row in table.rows), table.name
    pearson, spearman = found["estimates"].rows
    assert pearson[:4] == ["Fairness", "treatment.fairness", "Pearson", "0.41"]
    assert spearman[3:7] == ["", "", "", ""]  # not computable: empty, never NaN
    assert spearman[-1].startswith("Not enough data: it needs at least 4 units")
    assert found["drivers"].rows[0][:3] == ["Fairness: I am treated fairly", "fair.1", "item"]
    assert found["lags"].rows[0][2] == "-1"
    assert found["suppressions"].rows == [
        [
            "s4",
            "not shown: fewer than 5 responses; counted in the unit above it (south)",
            "rolled_up_into:south",
        ]
    ]


def test_error_pages_name_the_field_by_its_label() -> None:
    from pulse_web.form_errors import field_words

    assert field_words("period_from", "from: must be a month like 2026-03, got 'x'") == (
        "From period: Must be a month like 2026-03, got 'x'"
    )
    assert field_words("mediator", "must be one of a, b") == "mediator: Must be one of a, b"
