"""Generative model of an employee-pulse / customer-outcome study, for validation.

Units (stores, branches, teams) carry latent unit-level effects. Employees and customers
are nested in units with realistic intraclass correlations and unequal unit sizes, and
answer 1..A Likert items (a rounded, clipped normal). The analysis target is the
correlation of **observed unit means**, which is attenuated relative to the latent
correlation by within-unit sampling noise and by rounding; :func:`expected_unit_correlation`
computes that target by Monte Carlo. Everything is pure and deterministic given a seed
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
from scipy import special

from pulse_stats._validation import FloatArray, as_rng

IntArray = NDArray[np.intp]


@dataclass(frozen=True)
class SimulationDesign:
    """Parameters of the generative model (see the module docstring)."""

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
    design: SimulationDesign, random_state: int | np.random.Generator | None = None
) -> SurveySample:
    """Draw one cross-section of ``design.n_units`` units (see the module docstring)."""
    rng = as_rng(random_state)
    return _draw(rng, design, _unit_effects(rng, design.n_units, design))


def expected_unit_correlation(
    design: SimulationDesign,
    driver: int = 0,
    n_units: int = 1_000_000,
    random_state: int | np.random.Generator | None = 20240601,
    chunk: int = 50_000,
) -> float:
    """Population correlation of observed unit means (driver item vs customer outcome).

    This is the parameter that the Pearson r of J simulated unit means estimates (the
    latent correlation attenuated by sampling noise within units, unequal unit sizes and
    Likert rounding). Computed from ``n_units`` simulated units in chunks; its Monte-Carlo
    standard error is about (1 - rho^2) / sqrt(n_units) (0.001 for the default).
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


def observed_scale_icc(icc: float, design: SimulationDesign, nodes: int = 120) -> float:
    """Population ICC of the *rounded* answers when the latent answer has ICC ``icc``.

    Var(E[s|u]) / Var(s) with the category probabilities of the rounded normal, integrated
    over the unit effect u ~ N(0, 1) by Gauss-Hermite quadrature. This is the target of
    ICC(1) computed on observed Likert scores.
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


def simulate_panel(
    design: SimulationDesign,
    n_periods: int,
    lag: int = 1,
    autocorrelation: float = 0.5,
    random_state: int | np.random.Generator | None = None,
) -> PanelSample:
    """Repeated cross-sections where the first driver leads the outcome by ``lag`` periods.

    The unit-level driver effect follows a stationary AR(1) with ``autocorrelation``; the
    outcome effect at period t is r * driver(t - lag) + sqrt(1 - r^2) * fresh noise, with r
    = ``design.driver_correlations[0]``. New employees and customers answer every period.
    Returns unit means per period (predictor = driver 0, outcome = customer score).
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
