"""Pure rules behind GetDashboard: intervals of bounded scores stay inside their scale, and
which unit a page is about (the service round trip is tested through the web's dashboard
tests against the real services)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pulse_stats
import pytest
from pulse_correlation.aggregates import bounded_mean_interval, mean_interval
from pulse_correlation.dashboard import focus_unit, path_to
from pulse_correlation.org import UnitVersion, snapshot


def sums(values: list[float]) -> tuple[int, float, float]:
    return len(values), float(sum(values)), float(sum(v * v for v in values))


def test_bounded_interval_stays_inside_the_scale_where_the_t_interval_leaves_it() -> None:
    # Six answers near the top of a 0-100 scale: the t-interval runs past 100.
    high = [100.0, 100.0, 100.0, 100.0, 75.0, 25.0]
    _, _t_low, t_high, _ = mean_interval(*sums(high))
    assert t_high > 100
    mean, low, high_end, se = bounded_mean_interval(*sums(high))
    assert mean == pytest.approx(np.mean(high))
    assert 0 < low < mean < high_end < 100
    assert se == pytest.approx(np.std(high, ddof=1) / math.sqrt(6))
    # Every end of the scale, any spread: inside [0, 100], and around the mean.
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(2, 40))
        values = [float(v) for v in rng.choice([0, 25, 50, 75, 100], size=n)]
        m, lo, hi, _ = bounded_mean_interval(*sums(values))
        assert 0 <= lo <= m <= hi <= 100


def test_bounded_interval_near_the_middle_is_close_to_the_t_interval() -> None:
    values = [40.0, 50.0, 60.0, 55.0, 45.0, 50.0, 65.0, 35.0] * 5
    _, t_low, t_high, _ = mean_interval(*sums(values))
    _, low, high, _ = bounded_mean_interval(*sums(values))
    assert low == pytest.approx(t_low, abs=0.5)
    assert high == pytest.approx(t_high, abs=0.5)


def test_bounded_interval_at_the_end_of_the_scale_is_wilson() -> None:
    top = [100.0] * 8
    mean, low, high, _ = bounded_mean_interval(*sums(top))
    wilson = pulse_stats.wilson_interval(8, 8)
    assert mean == 100
    assert low == pytest.approx(100 * wilson.ci_low)
    assert high == pytest.approx(100.0)
    assert low < 100  # a width, not a point
    one = bounded_mean_interval(1, 80.0, 6400.0)
    assert math.isnan(one[1])
    assert math.isnan(one[2])


def version(unit: str, parent: str, name: str) -> UnitVersion:
    return UnitVersion(
        unit_id=unit,
        valid_from=dt.date(2025, 1, 1),
        valid_to=None,
        parent_id=parent,
        name=name,
        unit_type="front_line",
        change="created",
        merged_into="",
        org_version=1,
    )


def test_the_page_unit_and_its_path() -> None:
    org = snapshot(
        [
            version("root", "", "Root"),
            version("north", "root", "North"),
            version("n1", "north", "Team N1"),
        ],
        dt.date(2026, 1, 1),
    )
    # The whole organisation with one top unit lands on that unit.
    assert focus_unit(org, "", "") == "root"
    assert focus_unit(org, "north", "") == "north"
    assert focus_unit(org, "", "n1") == "n1"
    assert [u.name for u in path_to(org, "", "n1")] == ["Root", "North", "Team N1"]
    assert [u.unit_id for u in path_to(org, "north", "n1")] == ["north", "n1"]
    assert [u.has_children for u in path_to(org, "", "n1")] == [True, True, False]
    two_tops = snapshot(
        [version("a", "", "A"), version("b", "", "B")],
        dt.date(2026, 1, 1),
    )
    assert focus_unit(two_tops, "", "") == ""  # the virtual root: both tops are children
