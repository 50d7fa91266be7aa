"""The dashboard's pure page model: words instead of codes, changes larger than their noise,
movers, "not computable" instead of 0, and the CSV rows."""

from __future__ import annotations

import csv
import io

from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse_web.dashboard import latest_report
from pulse_web.exports import dashboard_rows, to_csv
from pulse_web.summary import build_page, link_points, order_measures, trend_lines
from pulse_web.words import (
    format_p,
    measure_label,
    scale_of,
    short_suppression,
    suppression_words,
)


def test_words_a_leader_reads() -> None:
    assert measure_label("treatment.support") == "Manager support"
    assert measure_label("csat.top2box") == (
        "Customer satisfaction (CSAT), share in the top two boxes"
    )
    assert format_p(0.0) == "< 0.001"
    assert format_p(0.0004) == "< 0.001"
    assert format_p(0.0421) == "0.042"
    assert format_p(float("nan")) == "not computable"
    assert suppression_words("below_k", 5) == "not shown: fewer than 5 responses"
    assert suppression_words("rolled_up_into:south", 5, {"south": "South"}) == (
        "not shown: fewer than 5 responses; counted in South"
    )
    assert "neighbouring group" in suppression_words("complementary", 5)
    assert "single out fewer than 7 people" in suppression_words("differencing", 7)
    assert short_suppression("complementary") == "protects a small group"
    assert scale_of("enps") == (-100.0, 100.0)
    assert scale_of("csat.top2box") == (0.0, 1.0)
    assert order_measures(["csat", "csat.top2box", "enps", "treatment.voice"]) == [
        "treatment.voice",
        "enps",
        "csat",
    ]


def cell(
    unit: str, period: str, code: str, value: float, half: float, n: int = 20
) -> corr_pb.ScoreCell:
    return corr_pb.ScoreCell(
        unit_id=unit,
        unit_name=unit.title(),
        period=period,
        construct=code,
        n=n,
        value=value,
        ci_low=value - half,
        ci_high=value + half,
    )


def reply() -> corr_pb.GetDashboardResponse:
    fair = "treatment.fairness"
    return corr_pb.GetDashboardResponse(
        unit=corr_pb.DashboardUnit(unit_id="root", name="Root", has_children=True),
        children=[
            corr_pb.DashboardUnit(unit_id="a", name="A"),
            corr_pb.DashboardUnit(unit_id="b", name="B"),
            corr_pb.DashboardUnit(unit_id="c", name="C"),
        ],
        path=[corr_pb.DashboardUnit(unit_id="root", name="Root", has_children=True)],
        cells=[
            cell("root", "2026-01", fair, 60, 2),
            cell("root", "2026-02", fair, 61, 2),
            cell("root", "2026-02", "csat", 70, 3),
            # A rises by 20 with narrow intervals: real. B falls by 3 inside its noise.
            cell("a", "2026-01", fair, 50, 3),
            cell("a", "2026-02", fair, 70, 3),
            cell("a", "2026-02", "csat", 80, 3),
            cell("b", "2026-01", fair, 60, 10),
            cell("b", "2026-02", fair, 57, 10),
            cell("b", "2026-02", "csat", 75, 3),
            cell("c", "2026-01", fair, 60, 2),
            corr_pb.ScoreCell(
                unit_id="c",
                period="2026-02",
                construct=fair,
                suppressed=True,
                suppression_reason="rolled_up_into:root",
            ),
        ],
        min_group_size=5,
        # The service's movers: every team of the subtree, here one two levels down.
        movers=[
            corr_pb.DashboardMover(
                unit=corr_pb.DashboardUnit(unit_id="a1", name="Team A1"),
                construct=fair,
                period="2026-02",
                previous_period="2026-01",
                value=40,
                previous_value=70,
                change=-30,
                noise=8,
            ),
            corr_pb.DashboardMover(
                unit=corr_pb.DashboardUnit(unit_id="b2", name="Team B2"),
                construct="csat",
                change=12,
                noise=5,
            ),
        ],
    )


def test_page_changes_movers_and_hidden_figures_in_words() -> None:
    page = build_page(reply(), 5)
    assert (page.latest, page.previous) == ("2026-02", "2026-01")
    assert page.measures == ["treatment.fairness", "csat"]
    fairness = page.summaries[0]
    assert fairness.label == "Fairness"
    assert fairness.current.text == "61"
    assert fairness.current.detail == "interval 59 to 63, 20 responses"
    assert fairness.change.text == "+1"
    assert not fairness.change.significant
    assert page.summaries[1].change.text == "no earlier figure"
    assert [(m.unit_name, m.label, m.change.text) for m in page.movers_up] == [
        ("Team B2", "Customer satisfaction (CSAT)", "+12")
    ]
    assert [(m.unit_id, m.label) for m in page.movers_down] == [("a1", "Fairness")]
    assert page.movers_down[0].change.text in ("−30", "-30")
    assert page.movers_since == "2026-01"
    a, b, c = page.rows
    assert a.changes[0].significant
    assert b.changes[0].direction == "down"
    assert not b.changes[0].significant
    assert c.figures[0].text == "too few responses"
    assert c.figures[0].detail == "not shown: fewer than 5 responses; counted in Root"
    assert not c.figures[0].shown
    assert c.figures[1].text == "no data"


def test_the_page_lands_on_the_latest_released_period() -> None:
    data = reply()
    still_open = corr_pb.ScoreCell(
        unit_id="root",
        period="2026-03",
        construct="treatment.fairness",
        suppressed=True,
        suppression_reason="period_open",
    )
    data.cells.append(still_open)
    data.cells[1].late_n = 6
    page = build_page(data, 5)
    assert (page.latest, page.previous) == ("2026-02", "2026-01")
    assert page.summaries[0].current.text == "61"
    assert page.summaries[0].current.detail == (
        "interval 59 to 63, 20 responses; 6 answers arrived after this period was published"
        " and are not included"
    )
    # Nothing released yet: the open period is shown, in words.
    only_open = corr_pb.GetDashboardResponse(
        unit=corr_pb.DashboardUnit(unit_id="root", name="Root"), cells=[still_open]
    )
    first = build_page(only_open, 5)
    assert first.latest == "2026-03"
    assert not first.summaries[0].current.shown


def test_an_interval_from_one_answer_is_not_computable() -> None:
    one = corr_pb.GetDashboardResponse(
        unit=corr_pb.DashboardUnit(unit_id="t", name="T"),
        cells=[corr_pb.ScoreCell(unit_id="t", period="2026-01", construct="csat", n=1, value=80)],
    )
    page = build_page(one, 1)
    assert page.summaries[0].current.detail == (
        "interval not computable (fewer than 2 answers), 1 responses"
    )
    rows = dashboard_rows(one, 1, "", with_children=False)
    assert rows[1][5:] == ["80.00", "not computable", "not computable", "1", "yes"]


def test_charts_and_csv_rows() -> None:
    data = reply()
    lines = trend_lines(data, ["2026-01", "2026-02"], ["treatment.fairness", "csat"])
    assert lines["lines"] == [
        {"label": "Fairness", "values": [60.0, 61.0]},
        {"label": "Customer satisfaction (CSAT)", "values": [None, 70.0]},
    ]
    link = link_points(data, "2026-02")
    assert link["points"] == [
        {"x": 70.0, "y": 80.0, "label": "A"},
        {"x": 57.0, "y": 75.0, "label": "B"},
    ]
    rows = dashboard_rows(data, 5, "treatment.fairness", with_children=True)
    assert rows[0][:5] == ["Unit", "Unit id", "Period", "Measure", "Measure code"]
    assert [r[1] for r in rows[1:]] == ["root", "root", "a", "a", "b", "b", "c", "c"]
    hidden = rows[-1]
    assert hidden[5:9] == ["", "", "", ""]
    assert hidden[9] == "not shown: fewer than 5 responses; counted in Root"
    text = to_csv([["=cmd()", "-12.5", "+1", "@x", "plain"]])
    assert next(csv.reader(io.StringIO(text))) == ["'=cmd()", "-12.5", "+1", "'@x", "plain"]


def test_the_link_sentence_comes_from_the_newest_report_on_the_unit() -> None:
    listing = corr_pb.ListReportsResponse(
        reports=[
            corr_pb.ReportSummary(
                report_id="r2",
                created_at="2026-03-02T10:00:00",
                scope_unit_id="",
                outcome="csat",
                verdict_level="supported",
                units_reported=12,
            ),
            corr_pb.ReportSummary(report_id="r1", scope_unit_id="north", outcome="nps"),
        ]
    )
    top = latest_report(listing, "root", top=True)
    assert top["report_id"] == "r2"
    assert top["sentence"] == (
        "The latest linkage report (2026-03-02) rates the link between how staff are treated"
        " and Customer satisfaction (CSAT) as supported, across 12 units."
    )
    assert latest_report(listing, "north", top=False)["report_id"] == "r1"
    assert latest_report(listing, "south", top=False) == {}
