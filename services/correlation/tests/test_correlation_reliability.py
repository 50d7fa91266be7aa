"""Cronbach's alpha from the aggregates equals pulse_stats on the respondents' items."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import numpy as np
import pulse_stats
import pytest
from pulse_correlation.aggregates import ConstructRow, ItemRow
from pulse_correlation.reliability import construct_reliability

SCALES = {"a": (1, 5), "b": (1, 5), "c": (1, 7)}


def cells(
    answers: dict[tuple[str, str], list[dict[str, int]]],
) -> tuple[list[ConstructRow], list[ItemRow]]:
    constructs, items = [], []
    for (unit, period), people in answers.items():
        scores = [
            float(np.mean([(p[i] - lo) / (hi - lo) * 100 for i, (lo, hi) in SCALES.items()]))
            for p in people
        ]
        constructs.append(
            ConstructRow(
                unit, period, "x", "employee", len(people), sum(scores), sum(s * s for s in scores)
            )
        )
        for item, (lo, hi) in SCALES.items():
            values = [float(p[item]) for p in people]
            items.append(
                ItemRow(
                    unit,
                    period,
                    item,
                    "x",
                    lo,
                    hi,
                    len(values),
                    sum(values),
                    sum(v * v for v in values),
                    0,
                    0,
                    0,
                    0,
                    n_xt=len(values),
                    sum_xt=sum(v * c for v, c in zip(values, scores, strict=True)),
                )
            )
    return constructs, items


def simulate(rng: random.Random, noise: float) -> dict[tuple[str, str], list[dict[str, int]]]:
    answers: dict[tuple[str, str], list[dict[str, int]]] = {}
    for unit in ("u1", "u2", "u3", "u4"):
        for period in ("2026-01", "2026-02"):
            people = []
            for _ in range(6):
                trait = rng.gauss(0, 1)
                people.append(
                    {
                        item: int(
                            min(hi, max(lo, round((lo + hi) / 2 + trait + rng.gauss(0, noise))))
                        )
                        for item, (lo, hi) in SCALES.items()
                    }
                )
            answers[(unit, period)] = people
    return answers


def test_alpha_from_sums_equals_alpha_of_the_items() -> None:
    answers = simulate(random.Random(3), 0.6)
    constructs, items = cells(answers)
    found = construct_reliability("x", constructs, items, 5)
    assert found is not None
    matrix = [
        [(p[i] - lo) / (hi - lo) * 100 for i, (lo, hi) in SCALES.items()]
        for people in answers.values()
        for p in people
    ]
    want = pulse_stats.cronbach_alpha(matrix)
    assert found.alpha == pytest.approx(want.alpha, abs=1e-9)
    assert found.ci_low == pytest.approx(want.ci_low, abs=1e-9)
    assert found.ci_high == pytest.approx(want.ci_high, abs=1e-9)
    assert (found.items, found.n) == (3, 48)
    assert found.warnings == []
    columns = np.array(matrix)
    for index, item in enumerate(SCALES):
        rest = columns.sum(axis=1) - columns[:, index]
        want_r = np.corrcoef(columns[:, index], rest)[0, 1]
        assert found.item_total[item] == pytest.approx(want_r, abs=1e-9), item


def test_item_totals_wait_for_cells_counted_with_construct_scores() -> None:
    constructs, items = cells(simulate(random.Random(5), 0.6))
    old = [replace(r, n_xt=0, sum_xt=0.0) for r in items]
    found = construct_reliability("x", constructs, old, 5)
    assert found is not None
    assert found.item_total == {}
    assert any("item-total correlations not computed" in w for w in found.warnings)
    assert math.isfinite(found.alpha)


def test_low_alpha_warns_and_incomplete_or_small_cells_are_left_out() -> None:
    answers = simulate(random.Random(4), 3.0)
    constructs, items = cells(answers)
    # One cell where someone skipped an item: its item count no longer matches.
    items = [r if (r.unit_id, r.item_id) != ("u1", "a") else replace(r, n=r.n - 1) for r in items]
    found = construct_reliability("x", constructs, items, 5)
    assert found is not None
    assert found.alpha < 0.7
    assert any("under 0.7" in w for w in found.warnings)
    assert any("2 unit-period cell(s) left out" in w for w in found.warnings)
    assert found.n == 36
    none = construct_reliability("x", constructs, items, 7)
    assert none is not None
    assert math.isnan(none.alpha)
    assert construct_reliability("y", constructs, items, 5) is None
