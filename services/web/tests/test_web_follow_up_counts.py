"""Detractor follow-up counts on the dashboard, pure: per-team counts rolled up to the page's
unit and each unit one level down, for the latest period and the periods shown."""

from __future__ import annotations

from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse_web.follow_up_counts import follow_up_rows
from pulse_web.org import UnitInfo

UNITS = [
    UnitInfo("root", "Root", "", 0),
    UnitInfo("north", "North", "root", 1),
    UnitInfo("south", "South", "root", 1),
    UnitInfo("n1", "N1", "north", 2),
    UnitInfo("n1a", "N1a", "n1", 3),
    UnitInfo("s1", "S1", "south", 2),
]


def count(unit: str, period: str, flagged: int, closed: int) -> resp_pb.FollowUpCount:
    return resp_pb.FollowUpCount(unit_id=unit, period=period, flagged=flagged, closed=closed)


COUNTS = [
    count("n1a", "2026-02", 3, 1),  # three levels down: counted under North
    count("n1", "2026-01", 2, 2),
    count("s1", "2026-02", 1, 0),
    count("s1", "2025-12", 5, 5),  # before the periods shown
]


def test_counts_roll_up_to_the_page_and_the_level_below() -> None:
    rows = follow_up_rows(
        COUNTS,
        UNITS,
        ("root", "Root"),
        [("north", "North"), ("south", "South")],
        {"2026-01", "2026-02"},
        "2026-02",
    )
    found = [(r.unit_id, r.flagged_latest, r.closed_latest, r.flagged, r.closed) for r in rows]
    assert found == [("root", 4, 1, 6, 3), ("north", 3, 1, 5, 3), ("south", 1, 0, 1, 0)]
    assert rows[0].open == 3


def test_a_page_on_the_whole_organisation_and_a_quiet_page() -> None:
    whole = follow_up_rows(COUNTS, UNITS, ("", "organisation"), [("root", "Root")], None, "")
    assert [(r.unit_id, r.flagged, r.closed) for r in whole] == [("", 11, 8), ("root", 11, 8)]
    quiet = follow_up_rows(
        COUNTS, UNITS, ("north", "North"), [("n1", "N1")], {"2026-03"}, "2026-03"
    )
    assert [(r.unit_id, r.flagged) for r in quiet] == [("north", 0)]
