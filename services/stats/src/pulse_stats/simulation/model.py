"""Generative model of an employee-pulse / customer-outcome study, for validation.

Units (stores, branches, teams) carry latent unit-level effects. Employees and customers
are nested in units with realistic intraclass correlations and unequal unit sizes, and
answer 1..A Likert items (a rounded, clipped normal). The analysis target is the
correlation of **observed unit means**, which is attenuated relative to the latent
correlation by within-unit sampling noise and by rounding;
:func:`pulse_stats.simulation.targets.expected_unit_correlation` computes that target by
Monte Carlo. Everything is pure and deterministic given a seed
(``numpy.random.Generator``).

Model (per unit j, respondent i, driver item k):

* latent unit effects (t_1j..t_Kj, o_j) ~ multivariate normal, unit variances,
  corr(t_kj, o_j) = ``driver_correlations[k]``, drivers mutually independent given that;
* employee latent answer z_ijk = sqrt(icc_e) t_kj + sqrt(1 - icc_e) e_ijk;
* customer latent answer w_ij = sqrt(icc_c) o_j + sqrt(1 - icc_c) f_ij;
* observed answer = clip(floor(location + spread * latent + 0.5), 1, A);
* unit sizes = min_size + Poisson(Gamma) (negative binomial whose gamma mixing
  distribution has coefficient of variation ``size_cv``), drawn independently per unit
  and per replicate; ``size_cv = 0`` gives every unit exactly round(mean) respondents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pulse_stats._validation import FloatArray, as_rng

IntArray = NDArray[np.intp]

__all__ = [
    "PanelSample",
    "SimulationDesign",
    "SurveySample",
    "simulate_panel",
    "simulate_survey",
]


@dataclass(frozen=True, kw_only=True)
class SimulationDesign:
    """Parameters of the generative model (see the module docstring); keyword-only.

    Parameters
    ----------
    n_units : int, default 40
        Units per cross-section (at least 2).
    driver_correlations : tuple of float, default (0.5,)
        Latent unit-level correlation of each driver with the outcome (sum of squares
        below 1).
    icc_employee, icc_customer : float, default 0.15 and 0.10
        ICC of the latent employee and customer answers, in [0, 1).
    mean_employees, mean_customers : float, default 12 and 30
        Mean respondents per unit.
    size_cv : float, default 0.5
        Coefficient of variation of the gamma mixing distribution of unit sizes (0: equal
        sizes).
    min_size : int, default 3
        Fewest respondents per unit.
    scale_points : int, default 5
        Answers are whole numbers 1..scale_points.
    location, spread : float, default 3.4 and 0.9
        Answer = clip(floor(location + spread * latent + 0.5), 1, scale_points).

    Examples
    --------
    >>> from pulse_stats.simulation import SimulationDesign
    >>> design = SimulationDesign(n_units=20, driver_correlations=(0.5, 0.0))
    >>> design.icc_employee, design.scale_points
    (0.15, 5)
    """

    n_units: int = 40
    driver_correlations: tuple[float, ...] = (0.5,)
    icc_employee: float = 0.15
    icc_customer: float = 0.10
    mean_employees: float = 12.0
    mean_customers: float = 30.0
    size_cv: float = 0.5
    min_size: int = 3
    scale_points: int = 5
    location: float = 3.4
    spread: float = 0.9

    def __post_init__(self) -> None:
        if self.n_units < 2:
            raise ValueError(f"n_units must be >= 2 (got {self.n_units})")
        if not self.driver_correlations:
            raise ValueError("driver_correlations must name at least one driver")
        if sum(r * r for r in self.driver_correlations) >= 1.0:
            raise ValueError("driver_correlations: the sum of squares must be below 1")
        for name in ("icc_employee", "icc_customer"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1)")
        if self.min_size < 1 or self.mean_employees < self.min_size:
            raise ValueError("mean_employees must be >= min_size >= 1")
        if self.mean_customers < self.min_size:
            raise ValueError("mean_customers must be >= min_size")
        if self.size_cv < 0 or self.scale_points < 2 or self.spread <= 0:
            raise ValueError("size_cv must be >= 0, scale_points >= 2 and spread > 0")


@dataclass(frozen=True)
class SurveySample:
    """One simulated cross-section: respondent-level answers and their units."""

    n_units: int
    employee_unit: IntArray
    employee_items: FloatArray  # employees x drivers
    customer_unit: IntArray
    customer_scores: FloatArray

    def employee_means(self) -> FloatArray:
        """Unit means of every driver item (units x drivers)."""
        counts = np.bincount(self.employee_unit, minlength=self.n_units).astype(np.float64)
        cols = [
            np.bincount(
                self.employee_unit, weights=self.employee_items[:, k], minlength=self.n_units
            )
            for k in range(self.employee_items.shape[1])
        ]
        return np.stack(cols, axis=1) / counts[:, np.newaxis]

    def customer_means(self) -> FloatArray:
        """Unit means of the customer outcome."""
        counts = np.bincount(self.customer_unit, minlength=self.n_units).astype(np.float64)
        sums = np.bincount(self.customer_unit, weights=self.customer_scores, minlength=self.n_units)
        return np.asarray(sums / counts, dtype=np.float64)


@dataclass(frozen=True)
class PanelSample:
    """Unit-by-period means from repeated cross-sections (one row per unit and period)."""

    unit: IntArray
    period: IntArray
    predictor: FloatArray
    outcome: FloatArray


def _sizes(rng: np.random.Generator, n: int, mean: float, design: SimulationDesign) -> IntArray:
    extra = mean - design.min_size
    if extra <= 0 or design.size_cv == 0:
        return np.full(n, max(design.min_size, round(mean)), dtype=np.intp)
    shape = 1.0 / design.size_cv**2
    lam = rng.gamma(shape, extra / shape, n)
    return (design.min_size + rng.poisson(lam)).astype(np.intp)


def _likert(latent: FloatArray, design: SimulationDesign) -> FloatArray:
    raw = np.floor(design.location + design.spread * latent + 0.5)
    return np.clip(raw, 1.0, float(design.scale_points))


def _unit_effects(rng: np.random.Generator, n: int, design: SimulationDesign) -> FloatArray:
    """(n, K + 1) latent effects: K drivers then the outcome, unit variances."""
    rs = np.asarray(design.driver_correlations, dtype=np.float64)
    outcome = rng.standard_normal(n)
    noise = rng.standard_normal((n, rs.size))
    drivers = outcome[:, np.newaxis] * rs + noise * np.sqrt(1.0 - rs * rs)
    return np.column_stack([drivers, outcome])


def _respondents(
    rng: np.random.Generator,
    effects: FloatArray,
    unit_of: IntArray,
    icc: float,
) -> FloatArray:
    noise = rng.standard_normal((unit_of.size, effects.shape[1]))
    return np.asarray(math.sqrt(icc) * effects[unit_of] + math.sqrt(1.0 - icc) * noise)


def _draw(rng: np.random.Generator, design: SimulationDesign, effects: FloatArray) -> SurveySample:
    n = effects.shape[0]
    k = effects.shape[1] - 1
    emp_unit = np.repeat(np.arange(n, dtype=np.intp), _sizes(rng, n, design.mean_employees, design))
    cus_unit = np.repeat(np.arange(n, dtype=np.intp), _sizes(rng, n, design.mean_customers, design))
    emp = _likert(_respondents(rng, effects[:, :k], emp_unit, design.icc_employee), design)
    cus = _likert(_respondents(rng, effects[:, k:], cus_unit, design.icc_customer), design)
    return SurveySample(n, emp_unit, emp, cus_unit, cus[:, 0])


def simulate_survey(
    design: SimulationDesign, *, random_state: int | np.random.Generator | None = None
) -> SurveySample:
    """Draw one cross-section of ``design.n_units`` units.

    Parameters
    ----------
    design : SimulationDesign
        The generative model.
    random_state : int, numpy.random.Generator or None, default None
        Seed or generator; None draws fresh entropy.

    Returns
    -------
    SurveySample
        Respondent-level employee answers (respondents x drivers) and customer scores with
        the unit of each respondent; ``employee_means()`` and ``customer_means()`` give the
        unit means.

    Notes
    -----
    The model is the one of the module docstring: a random-intercept (one-way random
    effects) model for latent answers with intraclass correlation ``icc_*`` (Shrout &
    Fleiss 1979 [1]_; Bliese 2000 [2]_), rounded to a Likert scale, and unit sizes
    min_size + Poisson(Gamma), i.e. negative binomial (Greenwood & Yule 1920 [3]_).

    References
    ----------
    .. [1] Shrout, P. E. & Fleiss, J. L. (1979). Psychol. Bull. 86:420-428.
    .. [2] Bliese, P. D. (2000). In Klein & Kozlowski (eds.), *Multilevel Theory,
       Research, and Methods in Organizations*, 349-381. Jossey-Bass.
    .. [3] Greenwood, M. & Yule, G. U. (1920). An inquiry into the nature of frequency
       distributions representative of multiple happenings. JRSS 83:255-279.

    Examples
    --------
    >>> from pulse_stats.simulation import SimulationDesign, simulate_survey
    >>> wave = simulate_survey(SimulationDesign(n_units=4), random_state=1)
    >>> wave.n_units, wave.employee_items.shape[1]
    (4, 1)
    >>> [round(float(m), 2) for m in wave.customer_means()]
    [3.29, 3.6, 3.61, 3.06]
    """
    rng = as_rng(random_state)
    return _draw(rng, design, _unit_effects(rng, design.n_units, design))


def simulate_panel(
    design: SimulationDesign,
    *,
    n_periods: int,
    lag: int = 1,
    autocorrelation: float = 0.5,
    random_state: int | np.random.Generator | None = None,
) -> PanelSample:
    """Repeated cross-sections where the first driver leads the outcome by ``lag`` periods.

    Parameters
    ----------
    design : SimulationDesign
        The generative model; ``driver_correlations[0]`` is the lagged correlation r.
    n_periods : int
        Periods simulated (at least 1).
    lag : int, default 1
        Periods by which the driver leads the outcome (at least 0).
    autocorrelation : float, default 0.5
        AR(1) coefficient of the unit-level driver effect, in (-1, 1).
    random_state : int, numpy.random.Generator or None, default None
        Seed or generator; None draws fresh entropy.

    Returns
    -------
    PanelSample
        Unit means per unit and period (predictor = driver 0, outcome = customer score).

    Raises
    ------
    ValueError
        n_periods < 1, lag < 0 or autocorrelation outside (-1, 1).

    Notes
    -----
    The unit-level driver effect follows a stationary AR(1) with ``autocorrelation``
    (Box & Jenkins 1976 [1]_); the outcome effect at period t is
    r * driver(t - lag) + sqrt(1 - r^2) * fresh noise. New employees and customers answer
    every period, as in :func:`simulate_survey`.

    References
    ----------
    .. [1] Box, G. E. P. & Jenkins, G. M. (1976). *Time Series Analysis: Forecasting and
       Control*, revised ed. Holden-Day.

    Examples
    --------
    >>> from pulse_stats.simulation import SimulationDesign, simulate_panel
    >>> panel = simulate_panel(SimulationDesign(n_units=3), n_periods=2, random_state=1)
    >>> panel.unit.tolist(), panel.period.tolist()
    ([0, 1, 2, 0, 1, 2], [0, 0, 0, 1, 1, 1])
    >>> [round(float(v), 2) for v in panel.outcome]
    [3.52, 3.4, 3.31, 2.7, 3.65, 3.42]
    """
    if n_periods < 1 or lag < 0 or not -1.0 < autocorrelation < 1.0:
        raise ValueError("need n_periods >= 1, lag >= 0 and -1 < autocorrelation < 1")
    rng = as_rng(random_state)
    j = design.n_units
    r = design.driver_correlations[0]
    phi = autocorrelation
    total = n_periods + lag
    driver = np.empty((total, j))
    driver[0] = rng.standard_normal(j)
    for t in range(1, total):
        driver[t] = phi * driver[t - 1] + math.sqrt(1.0 - phi * phi) * rng.standard_normal(j)
    one_driver = SimulationDesign(
        n_units=j,
        driver_correlations=(0.0,),
        icc_employee=design.icc_employee,
        icc_customer=design.icc_customer,
        mean_employees=design.mean_employees,
        mean_customers=design.mean_customers,
        size_cv=design.size_cv,
        min_size=design.min_size,
        scale_points=design.scale_points,
        location=design.location,
        spread=design.spread,
    )
    units, periods, xs, ys = [], [], [], []
    for t in range(n_periods):
        now = driver[t + lag]
        outcome = r * driver[t] + math.sqrt(1.0 - r * r) * rng.standard_normal(j)
        sample = _draw(rng, one_driver, np.column_stack([now, outcome]))
        units.append(np.arange(j, dtype=np.intp))
        periods.append(np.full(j, t, dtype=np.intp))
        xs.append(sample.employee_means()[:, 0])
        ys.append(sample.customer_means())
    return PanelSample(
        unit=np.concatenate(units),
        period=np.concatenate(periods),
        predictor=np.concatenate(xs),
        outcome=np.concatenate(ys),
    )
