"""The effect of an action, pure: before/after of the acted-on measure in the acted units and
a difference-in-differences against comparable units without an action.

For every unit u with released cells (n >= k) in both windows, the change is
d_u = mean(after) - mean(before) of its period scores. The estimate is

    DiD = mean(d_acted) - mean(d_comparison)

(Angrist & Pischke 2009, *Mostly Harmless Econometrics*, ch. 5: the comparison units' change
stands for what would have happened anyway — the parallel-trends assumption). Its interval:

* two or more acted units: Welch's t interval of the difference of means (Welch 1947,
  Biometrika 34:28-35);
* one acted unit: the interval for one new draw from the comparison units' changes,
  DiD +- t_{n_c-1} s_c sqrt(1 + 1/n_c) (a prediction interval; e.g. Hahn & Meeker 1991,
  *Statistical Intervals*, §4.7), since one unit's change has no spread of its own.

Evidence, not proof: other things changed too, units chose (or were chosen for) the action,
and parallel trends is an assumption the data can only partly check.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

MIN_COMPARISON_UNITS = 3


@dataclass(frozen=True)
class Window:
    before: tuple[str, ...]  # period labels
    after: tuple[str, ...]


@dataclass(frozen=True)
class UnitChange:
    unit_id: str
    before: float
    after: float

    @property
    def change(self) -> float:
        return self.after - self.before


@dataclass(frozen=True)
class Effect:
    estimate: float  # NaN when not computable
    ci_low: float
    ci_high: float
    acted_units: int
    comparison_units: int
    acted_change: float
    comparison_change: float
    method: str  # "welch" | "prediction" | "" (not computed)
    note: str


def unit_changes(
    scores: Mapping[tuple[str, str], float], units: Iterable[str], window: Window
) -> list[UnitChange]:
    """Changes of the units with a released score in at least one period of each window
    (``scores``: (unit, period) -> released value; cells under k are absent)."""
    found: list[UnitChange] = []
    for unit in sorted(set(units)):
        before = [scores[(unit, p)] for p in window.before if (unit, p) in scores]
        after = [scores[(unit, p)] for p in window.after if (unit, p) in scores]
        if before and after:
            found.append(UnitChange(unit, float(np.mean(before)), float(np.mean(after))))
    return found


def _not_computed(
    acted: Sequence[UnitChange], comparison: Sequence[UnitChange], why: str
) -> Effect:
    acted_change = float(np.mean([u.change for u in acted])) if acted else math.nan
    comparison_change = float(np.mean([u.change for u in comparison])) if comparison else math.nan
    return Effect(
        math.nan,
        math.nan,
        math.nan,
        len(acted),
        len(comparison),
        acted_change,
        comparison_change,
        "",
        why,
    )


def did(acted: Sequence[UnitChange], comparison: Sequence[UnitChange], level: float) -> Effect:
    """Difference-in-differences with its interval (module doc)."""
    if not acted:
        return _not_computed(
            acted, comparison, "the acted unit has no released score before and after"
        )
    if len(comparison) < MIN_COMPARISON_UNITS:
        return _not_computed(
            acted,
            comparison,
            f"fewer than {MIN_COMPARISON_UNITS} comparison units with scores before and after",
        )
    a = np.array([u.change for u in acted])
    c = np.array([u.change for u in comparison])
    estimate = float(a.mean() - c.mean())
    q = (1.0 + level) / 2.0
    if len(a) >= 2:
        va, vc = a.var(ddof=1) / len(a), c.var(ddof=1) / len(c)
        se = math.sqrt(va + vc)
        denominator = va * va / (len(a) - 1) + vc * vc / (len(c) - 1)
        dof = (va + vc) ** 2 / denominator if denominator > 0 else float(len(a) + len(c) - 2)
        method = "welch"
    else:
        se = float(c.std(ddof=1)) * math.sqrt(1.0 + 1.0 / len(c))
        dof = float(len(c) - 1)
        method = "prediction"
    half = float(stats.t.ppf(q, dof)) * se
    return Effect(
        estimate,
        estimate - half,
        estimate + half,
        len(a),
        len(c),
        float(a.mean()),
        float(c.mean()),
        method,
        "",
    )


def effect_words(effect: Effect, measure: str, level: float) -> str:
    """The comparison in plain words, as evidence and never as proof."""
    if not math.isfinite(effect.estimate):
        return f"No comparison for {measure}: {effect.note}."
    pct = f"{level * 100:g}%"
    span = f"{pct} interval {effect.ci_low:+.1f} to {effect.ci_high:+.1f}"
    head = (
        f"{measure} changed by {effect.acted_change:+.1f} points where the action was taken and "
        f"by {effect.comparison_change:+.1f} in {effect.comparison_units} comparable units "
        f"without one: a difference of {effect.estimate:+.1f} ({span})."
    )
    if effect.ci_low > 0:
        tail = " The data are consistent with the action helping;"
    elif effect.ci_high < 0:
        tail = " The acted units fell behind the comparison units;"
    else:
        tail = " The interval includes no difference: no evidence either way yet;"
    return (
        head + tail + " this is evidence, not proof (other things changed too, and the "
        "comparison assumes the units would otherwise have moved alike)."
    )
