"""Pure rules of issue 15/16 leftovers: who may read a stored report (reports within a scope
are shared), and which teams "moved most" across a whole subtree."""

from __future__ import annotations

import datetime as dt
import math

from pulse_correlation.access import Viewer
from pulse_correlation.dashboard_movers import latest_periods, movers
from pulse_correlation.org import UnitVersion, snapshot
from pulse_correlation.reports import may_read
from pulse_correlation.score_cells import Cell

DAY = dt.date(2025, 1, 1)


def version(unit: str, parent: str, change: str = "created", into: str = "") -> UnitVersion:
    return UnitVersion(unit, DAY, None, parent, unit, "", change, into, 1)


ORG = snapshot(
    [
        version("R", ""),
        version("N", "R"),
        version("S", "R"),
        version("N1", "N"),
        version("N2", "N"),
        version("S1", "S"),
        version("OLD", "N", "merged", "N2"),
    ],
    DAY,
)


def test_a_report_is_readable_by_every_viewer_whose_scope_holds_its_scope() -> None:
    ceo, north, north_team = Viewer("ceo", ""), Viewer("a", "N"), Viewer("t", "N1")
    south = Viewer("c", "S")
    assert may_read(ORG, ceo, "N1")
    assert may_read(ORG, ceo, "")
    assert may_read(ORG, north, "N")
    assert may_read(ORG, north, "N1")
    assert may_read(ORG, Viewer("top", "R"), "N1")
    # Not a report on a wider scope, a sibling subtree or the whole organisation.
    assert not may_read(ORG, north_team, "N")
    assert not may_read(ORG, south, "N1")
    assert not may_read(ORG, south, "N")
    assert not may_read(ORG, north, "")
    assert not may_read(ORG, Viewer("r", "R"), "")  # "" = the whole org, above R
    # A report on a unit since merged counts under the unit it merged into.
    assert may_read(ORG, north, "OLD")
    assert may_read(ORG, Viewer("n2", "N2"), "OLD")
    assert not may_read(ORG, south, "OLD")
    # A unit the org does not know yet is top level: only whole-org viewers read it.
    assert may_read(ORG, ceo, "X9")
    assert not may_read(ORG, north, "X9")


def cell(unit: str, period: str, construct: str, value: float, half: float, n: int = 20) -> Cell:
    return Cell(unit, unit, period, construct, n, value, value - half, value + half)


def test_movers_cover_every_team_of_the_subtree_and_only_changes_beyond_noise() -> None:
    cells = [
        # A team two levels down moves 30 points with +-5 intervals: noise 1.96*hypot(2.55,2.55)
        cell("N1", "2026-01", "csat", 50, 5),
        cell("N1", "2026-02", "csat", 80, 5),
        # Moves 6 with +-5 intervals: inside its noise (about 7.1), not listed.
        cell("N2", "2026-01", "csat", 50, 5),
        cell("N2", "2026-02", "csat", 56, 5),
        # Moves down 20.
        cell("S1", "2026-01", "treatment.fairness", 70, 4),
        cell("S1", "2026-02", "treatment.fairness", 50, 4),
        # A suppressed latest cell is never a mover; nor a top-2-box share; nor a non-team.
        Cell("S1", "S1", "2026-02", "csat", 3, 0.0, 0.0, 0.0, True, "below_k"),
        cell("S1", "2026-01", "csat", 10, 1),
        cell("S1", "2026-01", "csat.top2box", 0.1, 0.01),
        cell("S1", "2026-02", "csat.top2box", 0.9, 0.01),
        cell("N", "2026-01", "csat", 10, 1),
        cell("N", "2026-02", "csat", 90, 1),
    ]
    latest, previous = latest_periods(cells)
    assert (latest, previous) == ("2026-02", "2026-01")
    found = movers(cells, {"N1", "N2", "S1"}, latest, previous)
    assert [(m.unit_id, m.construct, m.change) for m in found] == [
        ("N1", "csat", 30.0),
        ("S1", "treatment.fairness", -20.0),
    ]
    expected_noise = 1.959963984540054 * math.hypot(10 / 3.919927969080108, 10 / 3.919927969080108)
    assert found[0].noise == expected_noise
    assert movers(cells, {"N1"}, latest, "") == []
    assert len(movers(cells, {"N1", "S1"}, latest, previous, limit=1)) == 2
