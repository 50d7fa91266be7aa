"""The latent model of the demo: unit-level values with a planted truth. Pure numpy, no I/O.

Unit = team, period = month; every process below is standardised and has the same covariance
structure over time: a stable team part with share ``stability`` plus a stationary AR(1)
monthly part with ``autocorrelation``.

* U (management quality), W (workload) and E (customer-side noise) are independent processes;
* treatment T = -c W + sqrt(1 - c^2) U, with c = ``workload_confounding``;
* customer outcome O(t) = b T(t - lag) - g W(t - lag) + s E(t), with b = (r - c^2) / (1 - c^2),
  g = c (1 - b) and s making Var(O) = 1. Then corr(T(t - lag), O(t)) = r = ``true_latent_r`` and
  corr(W, O) = corr(W, T) = -c: workload depresses both sides (b is the direct effect).
  Because T, W and E share one covariance structure, *any* average over months of T(t - lag)
  and of O(t) correlates at exactly r: the planted truth holds for unit means over a window.

How people's answers follow these values is ``answers``; who the people are, ``simulation``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pulse_cli.demo.config import DemoConfig

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Latent:
    """Unit-level latent values, one row per team (``Organisation.teams`` order).

    ``treatment`` and ``workload`` have ``lag`` extra leading columns (the months before the
    first generated one), so column ``p + lag`` is period ``p``; ``outcome`` column ``p`` is
    period ``p`` and is driven by treatment column ``p`` (period ``p - lag``)."""

    treatment: FloatArray
    workload: FloatArray
    outcome: FloatArray
    lag: int

    def treatment_in(self, period: int) -> FloatArray:
        return self.treatment[:, period + self.lag]

    def unit_correlation(self, rows: Sequence[int] | None = None) -> float:
        """Correlation over teams of the window means of T(t - lag) and O(t)."""
        chosen = slice(None) if rows is None else list(rows)
        x = self.treatment[chosen, : self.outcome.shape[1]].mean(axis=1)
        y = self.outcome[chosen].mean(axis=1)
        return float(np.corrcoef(x, y)[0, 1])


def _process(
    rng: np.random.Generator, n: int, cols: int, stability: float, phi: float
) -> FloatArray:
    stable = rng.standard_normal(n)
    monthly = np.empty((n, cols))
    monthly[:, 0] = rng.standard_normal(n)
    innovation = math.sqrt(1.0 - phi * phi)
    for t in range(1, cols):
        monthly[:, t] = phi * monthly[:, t - 1] + innovation * rng.standard_normal(n)
    return np.asarray(math.sqrt(stability) * stable[:, None] + math.sqrt(1.0 - stability) * monthly)


def simulate_latent(rng: np.random.Generator, config: DemoConfig, n_teams: int) -> Latent:
    """The unit-level latent values of ``n_teams`` teams (module docstring)."""
    lag, periods = config.lag_periods, config.periods
    cols = periods + lag
    u = _process(rng, n_teams, cols, config.stability, config.autocorrelation)
    w = _process(rng, n_teams, cols, config.stability, config.autocorrelation)
    e = _process(rng, n_teams, periods, config.stability, config.autocorrelation)
    c = config.workload_confounding
    t = -c * w + math.sqrt(1.0 - c * c) * u
    b, g, s = config.paths()
    outcome = b * t[:, :periods] - g * w[:, :periods] + s * e
    return Latent(treatment=t, workload=w, outcome=outcome, lag=lag)


def expected_latent_r(config: DemoConfig, seed: int, replicates: int = 200, lag: int = 0) -> float:
    """The latent correlation of unit means under the same pairing as
    ``expected_observed_r``: equal to ``true_latent_r`` when ``lag`` is the planted lag, and
    slightly below it when the report pairs months concurrently under a planted lag of one
    (a month's shift of the treatment window)."""
    xs, ys = [], []
    n_front = config.preset.front_line_teams
    periods, shift = config.periods, config.lag_periods - lag
    for child in np.random.SeedSequence([seed, 0x1A7E]).spawn(replicates):
        latent = simulate_latent(np.random.default_rng(child), config, n_front)
        # Outcome months [lag, P - 1]; treatment months [0, P - 1 - lag], i.e. columns
        # shifted by the planted lag (column c of ``treatment`` is month c - planted lag).
        t = latent.treatment[:, shift + lag : shift + periods].mean(axis=1)
        o = latent.outcome[:, lag:].mean(axis=1)
        xs.append(t - t.mean())
        ys.append(o - o.mean())
    return pooled_r(xs, ys)


def pooled_r(xs: list[FloatArray], ys: list[FloatArray]) -> float:
    """Pearson r of replicates pooled after centring each on its own mean."""
    x, y = np.concatenate(xs), np.concatenate(ys)
    return float((x @ y) / math.sqrt((x @ x) * (y @ y)))
