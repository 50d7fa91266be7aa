"""Ordinary least squares line with the confidence band of the fitted mean, for the report
scatter (pure; small n, so the t quantile matters)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist


@dataclass(frozen=True)
class FitBand:
    slope: float
    intercept: float
    # Points along the x range: (x, fitted, lower, upper).
    line: list[tuple[float, float, float, float]]
    n: int
    confidence_level: float


def t_quantile(p: float, df: int) -> float:
    """Student t quantile by the Cornish-Fisher expansion (A&S 26.7.5); within 0.3 % of the
    exact value for df >= 3, which is the smallest df a band is drawn for."""
    z = NormalDist().inv_cdf(p)
    v = float(df)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / v + g2 / v**2 + g3 / v**3 + g4 / v**4


def fit_with_band(
    xs: Sequence[float], ys: Sequence[float], confidence_level: float = 0.95, steps: int = 24
) -> FitBand | None:
    """None when a line cannot be fitted honestly (fewer than 5 points or no spread in x)."""
    n = len(xs)
    if n != len(ys) or n < 5:
        return None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx <= 1e-12:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    residual_ss = sum((y - (intercept + slope * x)) ** 2 for x, y in zip(xs, ys, strict=True))
    s = math.sqrt(residual_ss / (n - 2))
    t = t_quantile(0.5 + confidence_level / 2, n - 2)
    low_x, high_x = min(xs), max(xs)
    line = []
    for i in range(steps + 1):
        x = low_x + (high_x - low_x) * i / steps
        fitted = intercept + slope * x
        half = t * s * math.sqrt(1 / n + (x - mean_x) ** 2 / sxx)
        line.append((x, fitted, fitted - half, fitted + half))
    return FitBand(slope, intercept, line, n, confidence_level)
