"""Over-time statistics of a linkage report on the (unit, period) cells that reach k, pure:
within-unit correlations at every lag and the lead-lag comparison, with units as clusters
(a unit's months are not independent of each other)."""

from __future__ import annotations

import math

import numpy as np
import pulse_stats

from pulse_correlation.attempts import Attempts
from pulse_correlation.report_model import (
    Direction,
    Estimate,
    LagEstimate,
    Options,
    PredictorLinkage,
    UnitTable,
)


def _lag_estimate(lag: pulse_stats.WithinUnitLag) -> LagEstimate:
    note = (
        ""
        if math.isfinite(lag.r) and math.isfinite(lag.p_value)
        else f"not computable: {lag.n_units} unit(s) with pairs at this lag (3 needed) "
        "or no change within units"
    )
    return LagEstimate(lag.lag, Estimate.of(lag, note), lag.n_units)


def over_time(
    link: PredictorLinkage, table: UnitTable, options: Options, attempts: Attempts
) -> None:
    """Within-unit lags -max_lag..max_lag (lag 0 is the repeated-measures correlation, with
    a cluster-robust interval) and, with max_lag >= 1, the lead-lag test's numbers. Which
    direction the verdict states is decided with the other predictors (``evidence``)."""
    predictor, level, panel = link.predictor, options.confidence_level, table.panel
    rows = panel.reached.get(predictor)
    if rows is None or not rows.any():
        link.direction = Direction("not_assessed", note="no unit-period cell reaches k")
        return
    # Units as integer codes in the order of their ids: the statistics group units by
    # their sorted labels, so the numbers are those of the ids themselves.
    rank = np.empty(len(panel.units), dtype=np.intp)
    rank[np.argsort(np.array(panel.units, dtype=str), kind="stable")] = np.arange(len(rank))
    subject = rank[panel.unit[rows]]
    px, py = panel.x[predictor][rows], panel.y[rows]
    periods = panel.period_index[rows]
    lags = attempts.attempt(
        f"{predictor}: within-unit correlations",
        lambda: pulse_stats.within_unit_lags(
            subject, periods, px, py, max_lag=table.max_lag, confidence_level=level
        ),
    )
    link.lags = [_lag_estimate(lag) for lag in lags or ()]
    same_period = next((lag for lag in link.lags if lag.lag == 0), None)
    if same_period is not None:
        e = same_period.estimate
        link.repeated_measures = Estimate(
            "rmcorr", e.r, e.p_value, e.ci_low, e.ci_high, e.n, e.note
        )
    if table.max_lag < 1:
        link.direction = Direction("not_assessed", note="max_lag is 0: no lags to compare")
        return
    found = attempts.attempt(
        f"{predictor}: lead-lag test",
        lambda: pulse_stats.lead_lag_test(
            subject, periods, px, py, max_lag=table.max_lag, confidence_level=level
        ),
    )
    if found is None or not math.isfinite(found.p_value):
        units = found.n_units if found is not None else 0
        link.direction = Direction(
            "not_assessed",
            units=units,
            max_lag=table.max_lag,
            note=f"not computable: {units} unit(s) with consecutive periods (3 needed)",
        )
        return
    link.direction = Direction(
        "cannot_tell",
        forward=found.forward,
        backward=found.backward,
        difference=found.difference,
        ci_low=found.ci_low,
        ci_high=found.ci_high,
        p_value=found.p_value,
        units=found.n_units,
        max_lag=found.max_lag,
    )
