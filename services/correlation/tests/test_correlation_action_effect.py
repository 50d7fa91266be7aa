"""Difference-in-differences of an action, pure: the estimate, Welch's interval for several
acted units, the one-unit prediction interval, and the words (evidence, never proof)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pulse_correlation.action_effect import UnitChange, Window, did, effect_words, unit_changes
from scipy import stats


def changes(values: list[float], prefix: str) -> list[UnitChange]:
    return [UnitChange(f"{prefix}{i}", 50.0, 50.0 + v) for i, v in enumerate(values)]


def test_welch_interval_for_several_acted_units() -> None:
    acted, others = [10.0, 14.0, 12.0], [1.0, -2.0, 3.0, 0.0, 2.0]
    effect = did(changes(acted, "a"), changes(others, "c"), 0.95)
    welch = stats.ttest_ind(acted, others, equal_var=False)
    low, high = welch.confidence_interval(0.95)
    assert effect.method == "welch"
    assert effect.estimate == pytest.approx(np.mean(acted) - np.mean(others))
    assert effect.ci_low == pytest.approx(low)
    assert effect.ci_high == pytest.approx(high)


def test_one_acted_unit_gets_a_prediction_interval() -> None:
    others = [1.0, -2.0, 3.0, 0.0, 2.0]
    effect = did(changes([9.0], "a"), changes(others, "c"), 0.9)
    half = stats.t.ppf(0.95, 4) * np.std(others, ddof=1) * math.sqrt(1 + 1 / 5)
    assert effect.method == "prediction"
    assert effect.ci_high - effect.estimate == pytest.approx(half)
    assert "evidence, not proof" in effect_words(effect, "support", 0.9)
    assert "consistent with the action helping" in effect_words(effect, "support", 0.9)


def test_too_few_comparison_units_or_no_scores_are_said_in_words() -> None:
    few = did(changes([9.0], "a"), changes([1.0, 2.0], "c"), 0.95)
    assert math.isnan(few.estimate)
    assert "fewer than 3 comparison units" in effect_words(few, "csat", 0.95)
    scores = {("u", "2026-01"): 40.0, ("u", "2026-03"): 60.0, ("v", "2026-01"): 50.0}
    window = Window(("2026-01", "2026-02"), ("2026-03",))
    assert unit_changes(scores, ["u", "v"], window) == [UnitChange("u", 40.0, 60.0)]
