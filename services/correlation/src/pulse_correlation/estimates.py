"""The statistics of a linkage report between units, pure: every number is a
``pulse_stats`` call on the unit table (one row per released analysis unit), so a report
costs O(units x periods). A statistic that cannot be computed is NaN with its reason
(``attempts``); panel statistics are in ``panel_estimates``, the n-weighted and reliability
corrected estimates in ``unit_weighting``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np
import numpy.typing as npt
import pulse_stats
from pulse_common.measures import TREATMENT_PREFIX, is_nps

from pulse_correlation import panel_estimates, unit_weighting
from pulse_correlation.aggregates import mean_interval
from pulse_correlation.attempts import Attempts
from pulse_correlation.report_model import (
    CustomerMetric,
    Diagnostic,
    Driver,
    Estimate,
    Options,
    PartialEstimate,
    PredictorLinkage,
    UnitPoint,
    UnitTable,
)
from pulse_correlation.values import reported

FloatArray = npt.NDArray[np.float64]


def _estimate(result: pulse_stats.CorrelationResult | None) -> Estimate | None:
    return None if result is None else Estimate.of(result)


def drivers(table: UnitTable, options: Options, attempts: Attempts) -> list[Driver]:
    """Every treatment construct and item against the outcome, with BH q-values (an
    exploratory ranking; the verdict runs its own family-wise test)."""
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
        Driver(name, level, Estimate.of(result), reported(q), float(q))
        for (name, level, result), q in zip(rows, q_values, strict=True)
    ]


def predictor_linkage(
    predictor: str,
    table: UnitTable,
    options: Options,
    diagnostics: dict[str, Diagnostic],
    attempts: Attempts,
) -> PredictorLinkage:
    link = PredictorLinkage(predictor=predictor, points=_points(predictor, table))
    _between_units(link, table, options, attempts)
    panel_estimates.over_time(link, table, options, attempts)
    _partials(link, table, options, attempts)
    unit_weighting.multilevel(link, table, options, attempts)
    unit_weighting.disattenuate(
        link, diagnostics.get(predictor), diagnostics.get(table.outcome), options
    )
    link.units_needed = pulse_stats.units_needed(
        options.smallest_effect, alpha=1 - options.confidence_level
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
    link: PredictorLinkage, table: UnitTable, options: Options, attempts: Attempts
) -> None:
    """Unit-level correlations: Pearson, Spearman and the resampled ones."""
    predictor, level = link.predictor, options.confidence_level
    x = np.asarray(table.x[predictor], dtype=float)
    y = np.asarray(table.y, dtype=float)
    link.pearson = _estimate(
        attempts.attempt(
            f"{predictor}: Pearson",
            lambda: pulse_stats.correlation(x, y, method="pearson", confidence_level=level),
        )
    )
    link.spearman = _estimate(
        attempts.attempt(
            f"{predictor}: Spearman",
            lambda: pulse_stats.correlation(x, y, method="spearman", confidence_level=level),
        )
    )
    link.bootstrap = _resampled(
        f"{predictor}: bootstrap",
        pulse_stats.bootstrap_correlation,
        options.bootstrap_resamples,
        x,
        y,
        options,
        attempts,
    )
    link.permutation = _resampled(
        f"{predictor}: permutation",
        pulse_stats.permutation_correlation,
        options.permutation_resamples,
        x,
        y,
        options,
        attempts,
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


def _partials(
    link: PredictorLinkage, table: UnitTable, options: Options, attempts: Attempts
) -> None:
    """Partial correlations controlling each covariate, then all of them together."""
    x = np.asarray(table.x[link.predictor], dtype=float)
    y = np.asarray(table.y, dtype=float)
    method: Literal["pearson", "spearman"] = (
        "pearson" if options.method == "pearson" else "spearman"
    )
    names = [name for name in table.covariates if name != link.predictor]
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
    """Scope-level NPS (adjusted Wald interval), top-two-box share (Wilson) and outcome mean
    over the released units."""
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
            CustomerMetric(table.outcome, mean, reported(low), reported(high), n, reported(se))
        )
    return metrics
