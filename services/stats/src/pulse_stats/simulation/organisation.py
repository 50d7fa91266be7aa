"""A simulated organisation over time, summarised as the correlation service stores it:
per (unit, period) sums of employees' construct scores and item answers, and of customers'
ratings. It drives the report builder in the verdict validation
(``scripts/validate_verdicts.py``); pure and deterministic given a seed.

Model (unit j, period t; every latent series has unit variance):

* a latent series is sqrt(s) A_j + sqrt(1 - s) B_jt: a stable unit level A_j ~ N(0, 1)
  and a stationary AR(1) deviation B_jt with coefficient ``autocorrelation``
  (``stable_share`` = s);
* predictor k: sqrt(c) G_jt + sqrt(1 - c) U_kjt (a general treatment factor G shared by
  the predictors, ``predictor_correlation`` = c);
* outcome: its own series N_jt, or with a ``link`` from predictor 0 of correlation r:
  ``concurrent`` O_t = r T_t + sqrt(1 - r^2) N_t; ``leading`` O_t = r T_(t-1) + ...;
  ``reverse`` T_t = r O_(t-1) + sqrt(1 - r^2) T'_t (customers drive staff); ``none``;
* ``confounding`` = g: a stable unit confounder W_j (e.g. workload) enters every
  predictor but the last and the outcome as sqrt(g) W_j + sqrt(1 - g) (...), so it alone
  correlates them by g; the last predictor measures W (sqrt(0.8) W_j + sqrt(0.2) own);
* employees are a fixed roster per unit (min_size + negative binomial) who answer each
  period with probability ``response_rate``; an employee's latent answer is
  sqrt(icc_e) T + sqrt(1 - icc_e) (sqrt(p) P_i + sqrt(1 - p) E_it) with a stable person
  effect P_i (``person_share`` = p), so the same people answer again every period;
* customers are new every period (Poisson counts around a unit-specific mean), latent
  answer sqrt(icc_c) O + sqrt(1 - icc_c) F;
* answers are rounded and clipped to 1..scale_points
  (location + spread * (sqrt(1 - w) latent + sqrt(w) item noise), ``item_noise`` = w),
  constructs are the mean of ``items`` items mapped to 0-100.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from pulse_stats._validation import FloatArray, as_rng

__all__ = ["Link", "OrganisationDesign", "OrganisationSample", "simulate_organisation"]

Link = Literal["none", "concurrent", "leading", "reverse"]
LINKS: tuple[Link, ...] = ("none", "concurrent", "leading", "reverse")
IntArray = NDArray[np.int64]
WORKLOAD_LOADING = 0.8  # share of the last predictor's variance that is the confounder


@dataclass(frozen=True, kw_only=True)
class OrganisationDesign:
    """Parameters of the organisation model (see the module docstring); keyword-only."""

    n_units: int = 60
    n_periods: int = 12
    n_predictors: int = 6
    link: Link = "none"
    r: float = 0.4
    predictor_correlation: float = 0.5
    stable_share: float = 0.5
    autocorrelation: float = 0.5
    confounding: float = 0.0
    icc_employee: float = 0.15
    icc_customer: float = 0.10
    person_share: float = 0.5
    mean_employees: float = 12.0
    mean_customers: float = 30.0
    size_cv: float = 0.5
    min_size: int = 3
    response_rate: float = 0.8
    items: int = 2
    item_noise: float = 0.3
    scale_points: int = 5
    location: float = 3.4
    spread: float = 0.9

    def __post_init__(self) -> None:
        if self.n_units < 2 or self.n_periods < 1 or self.n_predictors < 1 or self.items < 1:
            raise ValueError("n_units >= 2, n_periods >= 1, n_predictors >= 1, items >= 1")
        if self.link not in LINKS:
            raise ValueError(f"link must be one of {', '.join(LINKS)} (got {self.link!r})")
        for name in ("r", "predictor_correlation", "stable_share", "confounding"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1)")
        for name in ("icc_employee", "icc_customer", "person_share", "item_noise"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1)")
        if not -1.0 < self.autocorrelation < 1.0:
            raise ValueError("autocorrelation must be in (-1, 1)")
        if not 0.0 < self.response_rate <= 1.0:
            raise ValueError("response_rate must be in (0, 1]")
        if self.min_size < 1 or min(self.mean_employees, self.mean_customers) < self.min_size:
            raise ValueError("mean_employees and mean_customers must be >= min_size >= 1")
        if self.size_cv < 0 or self.scale_points < 2 or self.spread <= 0:
            raise ValueError("size_cv must be >= 0, scale_points >= 2 and spread > 0")
        if self.confounding > 0 and self.n_predictors < 2:
            raise ValueError("confounding needs a second predictor to measure the confounder")


@dataclass(frozen=True)
class OrganisationSample:
    """Per (unit, period) sums, arrays indexed [unit, period] (constructs and items first).

    ``employee_n``: employees who answered; ``score_sum``/``score_sumsq`` (predictors x
    units x periods): their construct scores on 0-100; ``item_sum``/``item_sumsq``
    (predictors x items x units x periods): raw answers 1..scale_points;
    ``customer_n``, ``customer_sum``, ``customer_sumsq`` (0-100) and ``customer_top2``
    (answers in the top two boxes)."""

    employee_n: IntArray
    score_sum: FloatArray
    score_sumsq: FloatArray
    item_sum: FloatArray
    item_sumsq: FloatArray
    customer_n: IntArray
    customer_sum: FloatArray
    customer_sumsq: FloatArray
    customer_top2: IntArray
    scale_points: int


def _series(rng: np.random.Generator, design: OrganisationDesign, count: int) -> FloatArray:
    """``count`` independent latent series, shape (count, units, periods + 1); column 0 is
    the period before the first (for lags)."""
    units, steps = design.n_units, design.n_periods + 1
    a = design.autocorrelation
    ar = np.empty((count, units, steps))
    ar[..., 0] = rng.standard_normal((count, units))
    shocks = rng.standard_normal((count, units, steps)) * math.sqrt(1.0 - a * a)
    for t in range(1, steps):
        ar[..., t] = a * ar[..., t - 1] + shocks[..., t]
    stable = rng.standard_normal((count, units, 1))
    s = design.stable_share
    return np.asarray(math.sqrt(s) * stable + math.sqrt(1.0 - s) * ar)


def _latent(rng: np.random.Generator, design: OrganisationDesign) -> tuple[FloatArray, FloatArray]:
    """(predictors (K, units, periods), outcome (units, periods)) latent unit series."""
    k = design.n_predictors
    general, own, noise = (
        _series(rng, design, 1)[0],
        _series(rng, design, k),
        _series(rng, design, 2),
    )
    c = design.predictor_correlation
    treatment = math.sqrt(c) * general[np.newaxis] + math.sqrt(1.0 - c) * own
    outcome = noise[0]
    r, root = design.r, math.sqrt(1.0 - design.r**2)
    if design.link == "concurrent":
        outcome = r * treatment[0] + root * outcome
    elif design.link == "leading":
        outcome[:, 1:] = r * treatment[0, :, :-1] + root * outcome[:, 1:]
    elif design.link == "reverse":
        treatment[0, :, 1:] = r * outcome[:, :-1] + root * treatment[0, :, 1:]
    if design.confounding > 0:
        g = design.confounding
        confounder = rng.standard_normal((design.n_units, 1))
        treatment[:-1] = math.sqrt(g) * confounder + math.sqrt(1.0 - g) * treatment[:-1]
        outcome = math.sqrt(g) * confounder + math.sqrt(1.0 - g) * outcome
        q = WORKLOAD_LOADING
        treatment[-1] = math.sqrt(q) * confounder + math.sqrt(1.0 - q) * treatment[-1]
    return treatment[..., 1:], outcome[:, 1:]


def _sizes(rng: np.random.Generator, design: OrganisationDesign, mean: float) -> FloatArray:
    """Mean size per unit: min_size + Gamma (CV ``size_cv``) around mean - min_size."""
    extra = mean - design.min_size
    if extra <= 0 or design.size_cv == 0:
        return np.full(design.n_units, max(float(design.min_size), mean))
    shape = 1.0 / design.size_cv**2
    return design.min_size + rng.gamma(shape, extra / shape, design.n_units)


def _likert(latent: FloatArray, design: OrganisationDesign) -> FloatArray:
    raw = np.floor(design.location + design.spread * latent + 0.5)
    return np.clip(raw, 1.0, float(design.scale_points))


def _cell_sums(cells: IntArray, values: FloatArray, size: int) -> FloatArray:
    return np.asarray(np.bincount(cells, weights=values, minlength=size), dtype=np.float64)


def _employees(
    rng: np.random.Generator, design: OrganisationDesign, treatment: FloatArray
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    units, periods, k = design.n_units, design.n_periods, design.n_predictors
    extra = _sizes(rng, design, design.mean_employees) - design.min_size
    roster = (design.min_size + rng.poisson(extra)).astype(np.int64)
    unit_of = np.repeat(np.arange(units), roster)
    people = unit_of.size
    answered = rng.random((people, periods)) < design.response_rate
    person, period = np.nonzero(answered)
    cells = unit_of[person] * periods + period
    size = units * periods
    icc, share = design.icc_employee, design.person_share
    person_effect = rng.standard_normal((k, people))
    occasion = rng.standard_normal((k, person.size))
    within = math.sqrt(share) * person_effect[:, person] + math.sqrt(1.0 - share) * occasion
    latent = math.sqrt(icc) * treatment[:, unit_of[person], period] + math.sqrt(1.0 - icc) * within
    w = design.item_noise
    item_noise = rng.standard_normal((k, design.items, person.size))
    answers = _likert(
        math.sqrt(1.0 - w) * latent[:, np.newaxis] + math.sqrt(w) * item_noise, design
    )
    scores = (answers.mean(axis=1) - 1.0) / (design.scale_points - 1.0) * 100.0
    shape = (units, periods)

    def summed(values: FloatArray) -> FloatArray:
        """Sums over each (unit, period) cell along the last axis of ``values``."""
        flat = values.reshape(-1, values.shape[-1])
        return np.stack([_cell_sums(cells, v, size) for v in flat]).reshape(
            (*values.shape[:-1], *shape)
        )

    return (
        np.bincount(cells, minlength=size).reshape(shape).astype(np.int64),
        summed(scores),
        summed(scores * scores),
        summed(answers),
        summed(answers * answers),
    )


def _customers(
    rng: np.random.Generator, design: OrganisationDesign, outcome: FloatArray
) -> tuple[IntArray, FloatArray, FloatArray, IntArray]:
    units, periods = design.n_units, design.n_periods
    means = _sizes(rng, design, design.mean_customers) - design.min_size
    counts = design.min_size + rng.poisson(np.repeat(means[:, np.newaxis], periods, axis=1))
    cells = np.repeat(np.arange(units * periods), counts.ravel())
    icc = design.icc_customer
    latent = math.sqrt(icc) * outcome.ravel()[cells] + math.sqrt(1.0 - icc) * rng.standard_normal(
        cells.size
    )
    answers = _likert(latent, design)
    scores = (answers - 1.0) / (design.scale_points - 1.0) * 100.0
    size, shape = units * periods, (units, periods)
    top = answers >= design.scale_points - 1
    return (
        counts.astype(np.int64),
        _cell_sums(cells, scores, size).reshape(shape),
        _cell_sums(cells, scores * scores, size).reshape(shape),
        np.bincount(cells[top], minlength=size).reshape(shape).astype(np.int64),
    )


def simulate_organisation(
    design: OrganisationDesign, *, random_state: int | np.random.Generator | None = None
) -> OrganisationSample:
    """Draw one organisation: ``n_units`` units over ``n_periods`` periods.

    Parameters
    ----------
    design : OrganisationDesign
        The model (module docstring).
    random_state : int, numpy.random.Generator or None, default None
        Seed or generator; None draws fresh entropy.

    Returns
    -------
    OrganisationSample
        Per (unit, period) sums of employee scores and items and of customer ratings.

    Notes
    -----
    Random-intercept respondents (Shrout & Fleiss 1979 [1]_) around latent unit series
    that mix a stable level with an AR(1) deviation (Box & Jenkins 1976 [2]_), the
    structure of the random-intercept cross-lagged panel model (Hamaker, Kuiper & Grasman
    2015 [3]_); unit sizes are negative binomial (gamma-mixed Poisson).

    References
    ----------
    .. [1] Shrout, P. E. & Fleiss, J. L. (1979). Psychol. Bull. 86:420-428.
    .. [2] Box, G. E. P. & Jenkins, G. M. (1976). *Time Series Analysis: Forecasting and
       Control*, revised ed. Holden-Day.
    .. [3] Hamaker, E. L., Kuiper, R. M. & Grasman, R. P. P. P. (2015). A critique of the
       cross-lagged panel model. Psychol. Methods 20:102-116.

    Examples
    --------
    >>> from pulse_stats.simulation import OrganisationDesign, simulate_organisation
    >>> org = simulate_organisation(OrganisationDesign(n_units=5, n_periods=3), random_state=1)
    >>> org.employee_n.shape, org.score_sum.shape, org.item_sum.shape
    ((5, 3), (6, 5, 3), (6, 2, 5, 3))
    """
    rng = as_rng(random_state)
    treatment, outcome = _latent(rng, design)
    employee_n, score_sum, score_sumsq, item_sum, item_sumsq = _employees(rng, design, treatment)
    customer_n, customer_sum, customer_sumsq, customer_top2 = _customers(rng, design, outcome)
    return OrganisationSample(
        employee_n=employee_n,
        score_sum=score_sum,
        score_sumsq=score_sumsq,
        item_sum=item_sum,
        item_sumsq=item_sumsq,
        customer_n=customer_n,
        customer_sum=customer_sum,
        customer_sumsq=customer_sumsq,
        customer_top2=customer_top2,
        scale_points=design.scale_points,
    )
