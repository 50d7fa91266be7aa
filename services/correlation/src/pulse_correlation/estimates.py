"""The statistics of a linkage report, pure: every number is a ``pulse_stats`` call on the
unit table (one row per released analysis unit) or on the (unit, period) panel, so a report
costs O(units x periods). A statistic that cannot be computed is left out and noted
(``attempts``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np
import numpy.typing as npt
import pulse_stats
from pulse_common.measures import TREATMENT_PREFIX, is_nps

from pulse_correlation.aggregates import mean_interval
from pulse_correlation.attempts import Attempts
from pulse_correlation.report_model import (
    CrossLaggedCoefficient,
    CustomerMetric,
    Driver,
    Estimate,
    LagEstimate,
    Options,
    PartialEstimate,
    PredictorLinkage,
    UnitPoint,
    UnitTable,
)
from pulse_correlation.values import as_sent

FloatArray = npt.NDArray[np.float64]


def _estimate(result: pulse_stats.CorrelationResult | None) -> Estimate | None:
    return None if result is None else Estimate.of(result)


def drivers(table: UnitTable, options: Options, attempts: Attempts) -> list[Driver]:
    """Every treatment construct and item against the outcome, with BH q-values."""
    y = np.asarray(table.y, dtype=float)
    candidates = [
        (c, "construct", table.x[c]) for c in sorted(table.x) if c.startswith(TREATMENT_PREFIX)
    ] + [(item_id, "item", values) for item_id, (_, values) in sorted(table.items.items())]
    rows: list[tuple[str, str, pulse_stats.CorrelationResult]] = []
    for name, level, values in candidates:
        result = attempts.attempt(
            f"driver {name}",
            lambda v=values: pulse_stats.correlation(  # type: ignore[misc]
                v, y, method=options.method, confidence_level=options.confidence_level
            ),
        )
        if result is not None:
            rows.append((name, level, result))
    if not rows:
        return []
    # fdr wants NaN, not infinity, for a p-value that is not defined.
    p_values = [r.p_value if math.isfinite(r.p_value) else math.nan for _, _, r in rows]
    q_values = pulse_stats.fdr(p_values)
    return [
        Driver(name, level, Estimate.of(result), as_sent(q), float(q))
        for (name, level, result), q in zip(rows, q_values, strict=True)
    ]


def predictor_linkage(
    predictor: str,
    table: UnitTable,
    options: Options,
    icc2: dict[str, float],
    attempts: Attempts,
) -> PredictorLinkage:
    link = PredictorLinkage(predictor=predictor, points=_points(predictor, table))
    _between_units(link, table, options, icc2, attempts)
    _over_time(link, table, options, attempts)
    _partials(link, table, options, attempts)
    if link.pearson is not None and 0 < abs(link.pearson.r) < 1:
        link.units_needed = pulse_stats.units_needed(
            link.pearson.r, alpha=1 - options.confidence_level
        )
    return link


def _points(predictor: str, table: UnitTable) -> list[UnitPoint]:
    return [
        UnitPoint(unit, table.names.get(unit, unit), xv, yv, nx, ny)
        for unit, xv, yv, nx, ny in zip(
            table.units, table.x[predictor], table.y, table.n_x[predictor], table.n_y, strict=True
        )
    ]


def _between_units(
    link: PredictorLinkage,
    table: UnitTable,
    options: Options,
    icc2: dict[str, float],
    attempts: Attempts,
) -> None:
    """Unit-level correlations: Pearson, Spearman, resampled, disattenuated."""
    predictor, level = link.predictor, options.confidence_level
    x = np.asarray(table.x[predictor], dtype=float)
    y = np.asarray(table.y, dtype=float)
    pearson = attempts.attempt(
        f"{predictor}: Pearson",
        lambda: pulse_stats.correlation(x, y, method="pearson", confidence_level=level),
    )
    spearman = attempts.attempt(
        f"{predictor}: Spearman",
        lambda: pulse_stats.correlation(x, y, method="spearman", confidence_level=level),
    )
    link.pearson, link.spearman = _estimate(pearson), _estimate(spearman)
    resampled = {
        name: _resampled(f"{predictor}: {name}", resample, resamples, x, y, options, attempts)
        for name, resample, resamples in (
            ("bootstrap", pulse_stats.bootstrap_correlation, options.bootstrap_resamples),
            ("permutation", pulse_stats.permutation_correlation, options.permutation_resamples),
        )
    }
    link.bootstrap, link.permutation = resampled["bootstrap"], resampled["permutation"]
    rel_x, rel_y = icc2.get(predictor), icc2.get(table.outcome)
    if pearson is not None and rel_x is not None and rel_y is not None:
        if 0 < rel_x <= 1 and 0 < rel_y <= 1:
            link.disattenuated_r = pulse_stats.disattenuated(
                pearson.r, reliability_x=rel_x, reliability_y=rel_y
            )
        else:
            attempts.notes.append(
                f"{predictor}: disattenuated r not computed (ICC(2) not in (0, 1])"
            )


def _resampled(
    label: str,
    resample: Callable[..., pulse_stats.CorrelationResult],
    resamples: int,
    x: FloatArray,
    y: FloatArray,
    options: Options,
    attempts: Attempts,
) -> Estimate | None:
    """A bootstrap or permutation estimate (skipped with 0 resamples)."""
    if resamples <= 0:
        return None
    result = attempts.attempt(
        label,
        lambda: resample(
            x,
            y,
            method=options.method,
            n_resamples=resamples,
            confidence_level=options.confidence_level,
            random_state=options.random_seed,
        ),
    )
    return _estimate(result)


def _over_time(
    link: PredictorLinkage, table: UnitTable, options: Options, attempts: Attempts
) -> None:
    """Panel estimates on the (unit, period) cells that reach k: repeated-measures
    correlation, lagged correlations and cross-lagged paths."""
    predictor, level = link.predictor, options.confidence_level
    rows = [row for row in table.panel if predictor in row.x]
    if not rows:
        return
    subject = [r.unit_id for r in rows]
    px = [r.x[predictor] for r in rows]
    py = [r.y for r in rows]
    periods = [r.period_index for r in rows]
    rm = attempts.attempt(
        f"{predictor}: repeated-measures correlation",
        lambda: pulse_stats.repeated_measures_correlation(subject, px, py, confidence_level=level),
    )
    link.repeated_measures = _estimate(rm)
    max_lag = table.max_lag
    lags = attempts.attempt(
        f"{predictor}: lagged correlations",
        lambda: pulse_stats.lagged_correlations(
            subject,
            periods,
            px,
            py,
            max_lag=max_lag,
            method=options.method,
            confidence_level=level,
        ),
    )
    link.lags = [LagEstimate(lag.lag, Estimate.of(lag)) for lag in lags or ()]
    if max_lag < 1:
        return
    cl = attempts.attempt(
        f"{predictor}: cross-lagged estimates",
        lambda: pulse_stats.cross_lagged(subject, periods, px, py, confidence_level=level),
    )
    if cl is None:
        return
    link.cross_lagged = [
        CrossLaggedCoefficient(
            path=path,
            estimate=as_sent(coef.estimate),
            std_error=as_sent(coef.se),
            ci_low=as_sent(coef.ci_low),
            ci_high=as_sent(coef.ci_high),
            p_value=as_sent(coef.p_value),
            n=coef.n,
        )
        for path, coef in (
            ("predictor->outcome", cl.predictor_to_outcome),
            ("outcome->predictor", cl.outcome_to_predictor),
        )
    ]


def _partials(
    link: PredictorLinkage, table: UnitTable, options: Options, attempts: Attempts
) -> None:
    """Partial correlations controlling each covariate, then all of them together."""
    x = np.asarray(table.x[link.predictor], dtype=float)
    y = np.asarray(table.y, dtype=float)
    method: Literal["pearson", "spearman"] = (
        "pearson" if options.method == "pearson" else "spearman"
    )
    names = list(table.covariates)
    sets = [[name] for name in names] + ([names] if len(names) > 1 else [])
    for chosen in sets:
        matrix = np.column_stack([table.covariates[c] for c in chosen])
        part = attempts.attempt(
            f"{link.predictor}: partial correlation controlling {', '.join(chosen)}",
            lambda m=matrix: pulse_stats.partial_correlation(  # type: ignore[misc]
                x, y, m, method=method, confidence_level=options.confidence_level
            ),
        )
        if part is not None:
            link.partials.append(PartialEstimate(chosen, Estimate.of(part)))


def customer_metrics(table: UnitTable, level: float) -> list[CustomerMetric]:
    """Scope-level NPS, top-two-box share and outcome mean over the released units."""
    metrics: list[CustomerMetric] = []
    if table.nps_counts is not None and sum(table.nps_counts) > 0:
        nps = pulse_stats.nps_from_counts(*table.nps_counts, confidence_level=level)
        metrics.append(CustomerMetric("nps", nps.nps, nps.ci_low, nps.ci_high, nps.n, nps.se))
    if table.top2 is not None and table.top2[1] > 0:
        share = pulse_stats.wilson_interval(table.top2[0], table.top2[1], confidence_level=level)
        se = math.sqrt(share.p * (1 - share.p) / share.n)
        metrics.append(CustomerMetric("top2box", share.p, share.ci_low, share.ci_high, share.n, se))
    # An NPS outcome is reported once, as NPS above; its 0-100 item mean under the same
    # metric name would be a second, different "nps".
    if (
        table.outcome_totals is not None
        and table.outcome_totals[0] >= 2
        and not is_nps(table.outcome)
    ):
        n, total, squares = table.outcome_totals
        mean, low, high, se = mean_interval(n, total, squares, level)
        metrics.append(
            CustomerMetric(table.outcome, mean, as_sent(low), as_sent(high), n, as_sent(se))
        )
    return metrics
