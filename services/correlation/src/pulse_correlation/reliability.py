"""Cronbach's alpha of a construct from the aggregates, pure (no respondent rows needed).

A respondent's construct score C is the mean of its k items each mapped to 0-100, so the
total T = k C and var(T) = k^2 var(C); the item variances come from the item rows (mapped
to 0-100 by the square of the mapping's slope). Both are pooled over the cells used with the
usual unbiased variance (n - 1), so

    alpha = k/(k-1) (1 - sum_i var(item_i) / (k^2 var(C)))          (Cronbach 1951)

equals ``pulse_stats.cronbach_alpha`` on the respondents' (mapped) item matrix, and the
interval is Feldt's (1965):
[1 - (1 - alpha) F_{1-a/2}(n-1, (n-1)(k-1)), 1 - (1 - alpha) F_{a/2}(n-1, (n-1)(k-1))].

The corrected item-total correlation of item i (the item against the sum of the *other*
items, R ``psych::alpha`` "r.drop") follows from the stored sum of item value x construct
score per cell: cov(i, T) = k cov(i, C) and

    r_i = (cov(i, T) - var(i)) / sqrt(var(i) (var(T) + var(i) - 2 cov(i, T))),

flagged under 0.3 (Nunnally & Bernstein 1994, *Psychometric Theory*, 3rd ed.).

It holds only where every respondent answered every item of the construct, so a cell whose
item counts differ from its construct count (item rotation, skipped items) is left out and
said so; only cells of at least k people enter. References: Cronbach, L. J. (1951),
Psychometrika 16:297-334; Feldt, L. S. (1965), Psychometrika 30:357-370; the 0.7 threshold
is Nunnally (1978), *Psychometric Theory*, 2nd ed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from scipy import stats

from pulse_correlation.aggregates import ConstructRow, ItemRow

ALPHA_WARN_BELOW = 0.7
ITEM_TOTAL_WARN_BELOW = 0.3


@dataclass
class Pooled:
    n: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, n: int, total: float, squares: float, scale: float = 1.0) -> None:
        self.n += n
        self.total += total * scale
        self.squares += squares * scale * scale

    def variance(self) -> float:
        if self.n < 2:
            return math.nan
        return (self.squares - self.total * self.total / self.n) / (self.n - 1)


@dataclass(frozen=True)
class ConstructReliability:
    construct: str
    alpha: float
    ci_low: float
    ci_high: float
    items: int
    n: int  # respondents
    warnings: list[str] = field(default_factory=list)
    item_total: dict[str, float] = field(default_factory=dict)  # corrected, per item


def feldt_interval(alpha: float, n: int, items: int, level: float) -> tuple[float, float]:
    """Feldt's (1965) F-based interval of alpha (module doc)."""
    df1, df2 = n - 1, (n - 1) * (items - 1)
    tail = (1.0 - level) / 2.0
    low = 1.0 - (1.0 - alpha) * float(stats.f.isf(tail, df1, df2))
    high = 1.0 - (1.0 - alpha) * float(stats.f.isf(1.0 - tail, df1, df2))
    return low, high


def construct_reliability(
    construct: str,
    construct_rows: Iterable[ConstructRow],
    item_rows: Iterable[ItemRow],
    min_group_size: int,
    level: float = 0.95,
) -> ConstructReliability | None:
    """Alpha of ``construct`` over its complete cells of at least ``min_group_size``
    respondents; None when the construct has fewer than 2 items in the data."""
    cells = {
        (r.unit_id, r.period): r
        for r in construct_rows
        if r.construct == construct and r.n >= max(min_group_size, 1)
    }
    by_cell: dict[tuple[str, str], list[ItemRow]] = defaultdict(list)
    item_ids: set[str] = set()
    for row in item_rows:
        if row.construct == construct:
            by_cell[(row.unit_id, row.period)].append(row)
            item_ids.add(row.item_id)
    k = len(item_ids)
    if k < 2:
        return None
    total = Pooled()
    per_item: dict[str, Pooled] = defaultdict(Pooled)
    cross: dict[str, float] = defaultdict(float)  # item -> sum of scaled value x C
    left_out = 0
    with_cross = True
    for key, cell in cells.items():
        rows = by_cell.get(key, [])
        if len(rows) != k or any(r.n != cell.n for r in rows):
            left_out += 1
            continue
        total.add(cell.n, cell.sum, cell.sumsq)
        for r in rows:
            scale = 100.0 / (r.scale_max - r.scale_min)
            per_item[r.item_id].add(r.n, r.sum, r.sumsq, scale)
            cross[r.item_id] += r.sum_xt * scale
            with_cross = with_cross and r.n_xt == r.n
    return pooled_reliability(construct, k, total, per_item, cross, left_out, with_cross, level)


def pooled_reliability(
    construct: str,
    k: int,
    total: Pooled,
    per_item: dict[str, Pooled],
    cross: dict[str, float],
    left_out: int,
    with_cross: bool,
    level: float,
) -> ConstructReliability:
    """Alpha, its interval and the item-total correlations from the pooled sums of the
    complete cells (``per_item`` in the order the items were first counted)."""
    warnings: list[str] = []
    if left_out:
        warnings.append(
            f"{left_out} unit-period cell(s) left out: not every respondent answered every item"
        )
    total_var = k * k * total.variance()
    if total.n < 3 or not total_var > 0:
        warnings.append("alpha not computed: fewer than 3 complete respondents or no variance")
        return ConstructReliability(construct, math.nan, math.nan, math.nan, k, total.n, warnings)
    item_var = sum(p.variance() for p in per_item.values())
    alpha = k / (k - 1.0) * (1.0 - item_var / total_var)
    low, high = feldt_interval(alpha, total.n, k, level)
    if alpha < ALPHA_WARN_BELOW:
        warnings.append(
            f"alpha {alpha:.2f} is under {ALPHA_WARN_BELOW}: the items may not measure one "
            "thing; read the construct's score with care"
        )
    item_total: dict[str, float] = {}
    if with_cross:
        item_total = _item_totals(per_item, cross, total, k)
        warnings.extend(
            f"item {item} correlates weakly with the construct's other items "
            f"(r = {r:.2f} < {ITEM_TOTAL_WARN_BELOW})"
            for item, r in sorted(item_total.items())
            if r < ITEM_TOTAL_WARN_BELOW
        )
    else:
        warnings.append("item-total correlations not computed: cells counted before they were kept")
    return ConstructReliability(construct, alpha, low, high, k, total.n, warnings, item_total)


def _item_totals(
    per_item: dict[str, Pooled], cross: dict[str, float], total: Pooled, k: int
) -> dict[str, float]:
    """Corrected item-total correlation of every item (module doc)."""
    n = total.n
    var_t = k * k * total.variance()
    found: dict[str, float] = {}
    for item, pooled in per_item.items():
        var_i = pooled.variance()
        cov_it = k * (cross[item] - pooled.total * total.total / n) / (n - 1)
        rest = var_t + var_i - 2.0 * cov_it
        found[item] = (
            (cov_it - var_i) / math.sqrt(var_i * rest) if var_i > 0 and rest > 0 else math.nan
        )
    return found
