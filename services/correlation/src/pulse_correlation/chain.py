"""The statistics of a chain report, pure: service -> mediator -> outcome over served units.

Each served unit enters with its means over the range's released periods (unit level, as the
linkage report). The links:

* ``service->mediator`` (a): Pearson r of the unit means, Fisher interval;
* ``mediator->outcome`` (b): partial r controlling for service;
* ``service->outcome`` (total c) and ``service->outcome|mediator`` (direct c').

The standardised path coefficients of the mediation model are a = r_XM and
b = (r_MY - r_XY r_XM) / (1 - r_XM^2), c' = (r_XY - r_MY r_XM) / (1 - r_XM^2)
(Cohen, Cohen, West & Aiken 2003, *Applied Multiple Regression/Correlation Analysis*, 3rd ed.,
eq. 3.2.4), and the indirect path is a*b with a percentile bootstrap interval resampling
served units (Preacher & Hayes 2008, Behavior Research Methods 40(3), 879-891) — the product
is not normal, so no normal-theory interval is used. The lagged pattern pairs unit-period
cells at lags -max_lag..max_lag (``pulse_stats.lagged_correlations``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pulse_stats
from numpy.typing import NDArray
from pulse_common.periods import period_index

from pulse_correlation.chain_model import (
    NO_ESTIMATE,
    ChainEstimate,
    ChainLag,
    ChainOptions,
    ChainPanel,
    ChainVerdict,
)
from pulse_correlation.chain_verdict import ChainVerdictInput, chain_verdict
from pulse_correlation.values import as_sent

FloatArray = NDArray[np.float64]

SERVICE_MEDIATOR = "service->mediator"
MEDIATOR_OUTCOME = "mediator->outcome"
SERVICE_OUTCOME = "service->outcome"
DIRECT = "service->outcome|mediator"


@dataclass(frozen=True)
class ChainLinkResult:
    path: str
    estimate: ChainEstimate
    beta: float
    lags: list[ChainLag]


@dataclass(frozen=True)
class ChainResult:
    units: int
    unit_periods: int
    links: list[ChainLinkResult]
    indirect: ChainEstimate
    verdict: ChainVerdict


@dataclass(frozen=True)
class UnitMeans:
    service: FloatArray
    mediator: FloatArray
    outcome: FloatArray


def unit_means(panel: ChainPanel) -> UnitMeans:
    """Each served unit's mean of its released periods, aligned by ``panel.units``."""
    units = panel.units
    index = {u: i for i, u in enumerate(units)}
    sums = np.zeros((len(units), 3))
    counts = np.zeros(len(units))
    for row in panel.rows:
        i = index[row.unit_id]
        sums[i] += (row.service, row.mediator, row.outcome)
        counts[i] += 1
    means = sums / np.maximum(counts, 1)[:, None]
    return UnitMeans(means[:, 0], means[:, 1], means[:, 2])


def _corr(x: FloatArray, y: FloatArray) -> float:
    if len(x) < 2:
        return float("nan")
    x = x - x.mean()
    y = y - y.mean()
    denominator = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum()) / denominator if denominator > 0 else float("nan")


def paths(means: UnitMeans) -> tuple[float, float, float, float]:
    """(a, b, total c, direct c') standardised, from the three correlations (module doc)."""
    r_xm = _corr(means.service, means.mediator)
    r_my = _corr(means.mediator, means.outcome)
    r_xy = _corr(means.service, means.outcome)
    shared = 1.0 - r_xm * r_xm
    if not shared > 0:
        return r_xm, float("nan"), r_xy, float("nan")
    return r_xm, (r_my - r_xy * r_xm) / shared, r_xy, (r_xy - r_my * r_xm) / shared


def indirect_interval(means: UnitMeans, options: ChainOptions) -> tuple[float, float, int]:
    """Percentile bootstrap interval of a*b over units: (low, high, resamples used).
    Resamples in which a path is undefined (a constant column) are dropped."""
    n = len(means.service)
    if options.bootstrap_resamples <= 0 or n < 4:
        return float("nan"), float("nan"), 0
    rng = np.random.default_rng(options.random_seed)
    found: list[float] = []
    for _ in range(options.bootstrap_resamples):
        pick = rng.integers(0, n, n)
        a, b, _, _ = paths(
            UnitMeans(means.service[pick], means.mediator[pick], means.outcome[pick])
        )
        if np.isfinite(a) and np.isfinite(b):
            found.append(a * b)
    if not found:
        return float("nan"), float("nan"), 0
    tail = (1.0 - options.confidence_level) / 2.0 * 100.0
    low, high = np.percentile(found, [tail, 100.0 - tail])
    return float(low), float(high), len(found)


def _estimate(compute: Callable[[], pulse_stats.CorrelationResult]) -> ChainEstimate:
    """An estimate, or the proto's default when it is not defined (too few or constant)."""
    try:
        return ChainEstimate.of(compute())
    except ValueError:
        return NO_ESTIMATE


def _lags(panel: ChainPanel, first: str, second: str, max_lag: int, level: float) -> list[ChainLag]:
    if max_lag <= 0 or len(panel.rows) < 3:
        return []
    rows = panel.rows
    try:
        found = pulse_stats.lagged_correlations(
            [r.unit_id for r in rows],
            [period_index(r.period) for r in rows],
            [getattr(r, first) for r in rows],
            [getattr(r, second) for r in rows],
            max_lag=max_lag,
            confidence_level=level,
        )
    except ValueError:
        return []
    return [ChainLag(lag.lag, ChainEstimate.of(lag)) for lag in found]


def analyse_chain(panel: ChainPanel, max_lag: int, options: ChainOptions) -> ChainResult:
    means = unit_means(panel)
    level = options.confidence_level
    x, m, y = means.service, means.mediator, means.outcome
    a, b, c, c_direct = paths(means)
    links = [
        ChainLinkResult(
            SERVICE_MEDIATOR,
            _estimate(lambda: pulse_stats.correlation(x, m, confidence_level=level)),
            as_sent(a),
            _lags(panel, "service", "mediator", max_lag, level),
        ),
        ChainLinkResult(
            MEDIATOR_OUTCOME,
            _estimate(lambda: pulse_stats.partial_correlation(m, y, x, confidence_level=level)),
            as_sent(b),
            _lags(panel, "mediator", "outcome", max_lag, level),
        ),
        ChainLinkResult(
            SERVICE_OUTCOME,
            _estimate(lambda: pulse_stats.correlation(x, y, confidence_level=level)),
            as_sent(c),
            _lags(panel, "service", "outcome", max_lag, level),
        ),
        ChainLinkResult(
            DIRECT,
            _estimate(lambda: pulse_stats.partial_correlation(x, y, m, confidence_level=level)),
            as_sent(c_direct),
            [],
        ),
    ]
    low, high, used = indirect_interval(means, options)
    indirect = ChainEstimate(
        "bootstrap_percentile", as_sent(a * b), 0.0, as_sent(low), as_sent(high), len(x)
    )
    if used == 0:
        indirect = ChainEstimate("bootstrap_percentile", as_sent(a * b), 0.0, 0.0, 0.0, len(x))
    verdict = chain_verdict(
        ChainVerdictInput(
            units=len(x),
            links={link.path: link.estimate for link in links},
            indirect=indirect,
            interval_defined=used > 0,
            confidence_level=level,
        )
    )
    return ChainResult(len(x), len(panel.rows), links, indirect, verdict)
