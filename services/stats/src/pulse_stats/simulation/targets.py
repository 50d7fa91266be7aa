"""Population targets of the estimators under the generative model of
:mod:`pulse_stats.simulation.model`: the correlation of observed unit means and the ICC of
rounded answers."""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from pulse_stats._validation import as_rng
from pulse_stats.simulation.model import SimulationDesign, _draw, _unit_effects

__all__ = ["expected_unit_correlation", "observed_scale_icc"]


def expected_unit_correlation(
    design: SimulationDesign,
    *,
    driver: int = 0,
    n_units: int = 1_000_000,
    chunk: int = 50_000,
    random_state: int | np.random.Generator | None = 20240601,
) -> float:
    """Population correlation of observed unit means (driver item vs customer outcome).

    Parameters
    ----------
    design : SimulationDesign
        The generative model.
    driver : int, default 0
        Index into ``design.driver_correlations``.
    n_units : int, default 1_000_000
        Simulated units for the Monte-Carlo estimate.
    chunk : int, default 50_000
        Units simulated per batch (bounds memory).
    random_state : int, numpy.random.Generator or None, default 20240601
        Seed or generator; fixed by default so the target is reproducible.

    Returns
    -------
    float
        The correlation of the unit means over ``n_units`` simulated units.

    Raises
    ------
    ValueError
        ``driver`` out of range.

    Notes
    -----
    This is the parameter that the Pearson r of J simulated unit means estimates: the
    latent correlation attenuated by sampling noise within units, unequal unit sizes and
    Likert rounding (attenuation by unreliability, Spearman 1904 [1]_). Its Monte-Carlo
    standard error is about (1 - rho^2) / sqrt(n_units) (0.001 for the default), the
    large-sample standard error of r (Fisher 1915 [2]_).

    References
    ----------
    .. [1] Spearman, C. (1904). Am. J. Psychol. 15:72-101.
    .. [2] Fisher, R. A. (1915). Biometrika 10:507-521.

    Examples
    --------
    >>> from pulse_stats.simulation import SimulationDesign, expected_unit_correlation
    >>> design = SimulationDesign(driver_correlations=(0.5,))
    >>> round(expected_unit_correlation(design, n_units=20_000, random_state=1), 2)
    0.32
    """
    if not 0 <= driver < len(design.driver_correlations):
        raise ValueError(f"driver must index driver_correlations (got {driver})")
    rng = as_rng(random_state)
    moments = np.zeros(5)
    done = 0
    while done < n_units:
        size = min(chunk, n_units - done)
        sample = _draw(rng, design, _unit_effects(rng, size, design))
        x = sample.employee_means()[:, driver]
        y = sample.customer_means()
        moments += (x.sum(), y.sum(), x @ x, y @ y, x @ y)
        done += size
    sx, sy, sxx, syy, sxy = moments / n_units
    return float((sxy - sx * sy) / math.sqrt((sxx - sx * sx) * (syy - sy * sy)))


def observed_scale_icc(icc: float, design: SimulationDesign, *, nodes: int = 120) -> float:
    """Population ICC of the *rounded* answers when the latent answer has ICC ``icc``.

    Parameters
    ----------
    icc : float
        ICC of the latent (unrounded) answer, in [0, 1).
    design : SimulationDesign
        Supplies the scale (``scale_points``, ``location``, ``spread``).
    nodes : int, default 120
        Gauss-Hermite quadrature nodes.

    Returns
    -------
    float
        Var(E[s|u]) / Var(s) of the observed Likert score s; the target of ICC(1)
        computed on observed scores.

    Notes
    -----
    The category probabilities of the rounded normal are integrated over the unit effect
    u ~ N(0, 1) by Gauss-Hermite quadrature (Abramowitz & Stegun 1964 [1]_, 25.4.46);
    the ICC is the between-unit share of the variance (Shrout & Fleiss 1979 [2]_).

    References
    ----------
    .. [1] Abramowitz, M. & Stegun, I. A. (1964). *Handbook of Mathematical Functions*.
       National Bureau of Standards.
    .. [2] Shrout, P. E. & Fleiss, J. L. (1979). Psychol. Bull. 86:420-428.

    Examples
    --------
    Rounding to a 1-5 scale attenuates the ICC:

    >>> from pulse_stats.simulation import SimulationDesign, observed_scale_icc
    >>> round(observed_scale_icc(0.15, SimulationDesign()), 3)
    0.134
    """
    points, weights = np.polynomial.hermite_e.hermegauss(nodes)
    weights = weights / weights.sum()
    cats = np.arange(1, design.scale_points + 1, dtype=np.float64)
    upper = np.append(cats[:-1] + 0.5, np.inf)
    sd_within = design.spread * math.sqrt(1.0 - icc)
    centre = design.location + design.spread * math.sqrt(icc) * points
    cdf = special.ndtr((upper[np.newaxis, :] - centre[:, np.newaxis]) / sd_within)
    probs = np.diff(np.column_stack([np.zeros(points.size), cdf]), axis=1)
    cond_mean = probs @ cats
    cond_var = probs @ (cats * cats) - cond_mean**2
    grand = float(weights @ cond_mean)
    between = float(weights @ (cond_mean - grand) ** 2)
    within = float(weights @ cond_var)
    return between / (between + within)
