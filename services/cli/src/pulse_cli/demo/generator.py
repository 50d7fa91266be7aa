"""A realistic organisation with a planted truth: pure numpy, no I/O, deterministic per seed.

Latent model (unit = team, period = month; every process below is standardised and has the
same covariance structure over time: a stable team part with share ``stability`` plus a
stationary AR(1) monthly part with ``autocorrelation``):

* U (management quality), W (workload) and E (customer-side noise) are independent processes;
* treatment T = -c W + sqrt(1 - c^2) U, with c = ``workload_confounding``;
* customer outcome O(t) = b T(t - lag) - g W(t - lag) + s E(t), with b = (r - c^2) / (1 - c^2),
  g = c (1 - b) and s making Var(O) = 1. Then corr(T(t - lag), O(t)) = r = ``true_latent_r`` and
  corr(W, O) = corr(W, T) = -c: workload depresses both sides (b is the direct effect).
  Because T, W and E share one covariance structure, *any* average over months of T(t - lag)
  and of O(t) correlates at exactly r: the planted truth holds for unit means over a window.
* An employee's latent answer to an item is sqrt(icc_t) T + sqrt(1 - icc_t) (individual part:
  a general tendency shared by the person's items plus item noise); a customer's is
  sqrt(icc_c) O + sqrt(1 - icc_c) (individual part). Latent answers become scores by
  clip(floor(location + spread z + 0.5)) on each item's scale (``items.SCALES``); reverse-scored
  items are flipped, as a respondent would answer them.
* Interactions per front-line team and month are Poisson with a mean proportional to team size
  and exp(0.25 W): busy teams serve more customers (the observable side of the confounder).

``expected_observed_r`` is the generator's own Monte Carlo of the correlation that survives
attenuation (sampling within units, Likert rounding, unequal sizes, response rates): the
parameter that a report's Pearson r over observed unit means estimates.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pulse_cli.demo.items import (
    CONSTRUCT_SHIFT,
    DEFAULT_BANK,
    EMPLOYEE_CONSTRUCTS,
    ItemBank,
    ItemSlot,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

CHANNELS = ("ticket", "call", "visit", "chat")
# Channel mix per front-line division (stores, contact centre, field service, ...), cycled.
CHANNEL_MIX = (
    (0.15, 0.15, 0.60, 0.10),
    (0.25, 0.45, 0.00, 0.30),
    (0.30, 0.30, 0.30, 0.10),
)
DIVISION_NAMES = ("Stores", "Contact Centre", "Field Service", "Online", "Partners")
REGIONS = ("North", "South", "East", "West", "Central", "Coast", "Valley", "Metro")
WORKLOAD_INTENSITY = 0.25


@dataclass(frozen=True)
class SizePreset:
    front_line_teams: int
    back_office_teams: int
    front_line_divisions: int
    teams_per_department: int
    mean_team_size: float
    periods: int
    interactions: int
    customers: int


SIZES: dict[str, SizePreset] = {
    # For tests: a dozen teams over three months (about 130 people, 1,000 interactions).
    "tiny": SizePreset(12, 2, 2, 4, 9.5, 3, 1_000, 600),
    "small": SizePreset(30, 6, 2, 6, 9.7, 6, 6_000, 3_000),
    "medium": SizePreset(120, 20, 2, 10, 10.7, 12, 60_000, 25_000),
    "large": SizePreset(300, 50, 3, 10, 10.7, 12, 150_000, 60_000),
}


@dataclass(frozen=True)
class DemoConfig:
    """Size and the planted truth. ``start_month`` is the first generated month (YYYY-MM)."""

    size: str = "medium"
    true_latent_r: float = 0.5
    lag_periods: int = 1
    icc_treatment: float = 0.15
    icc_customer: float = 0.10
    employee_response_rate: float = 0.75
    customer_response_rate: float = 0.30
    # Share of interactions the survey service invites (PULSE_CUSTOMER_SAMPLE_RATE of the
    # stack the demo starts); the response rate applies to those invited. The service's own
    # draw (a keyed hash of the interaction id) decides which; the Monte Carlo models it as
    # an independent draw with this probability.
    customer_sample_rate: float = 0.5
    workload_confounding: float = 0.2
    stability: float = 0.6
    autocorrelation: float = 0.5
    person_share: float = 0.6
    # Share of a person's general tendency that persists from month to month. Above zero,
    # the same people's lasting tendencies sit in their team's mean over the range, ICC(2)
    # counts them as team variance and the disattenuated r under-corrects (about -0.06 at
    # 0.7); 0 keeps ICC(2) an honest reliability so the disattenuated r centres on the truth.
    person_persistence: float = 0.0
    monthly_turnover: float = 0.012
    reorg_share: float = 0.15
    # Period index of the reorganisation; None = half-way.
    reorg_period: int | None = None
    start_month: str = "2026-01"
    # The report's headline pair (the generator drives every treatment construct and every
    # customer metric from the same latent values; csat is the service-profit chain's outcome).
    predictor: str = "treatment.support"
    outcome: str = "csat"
    min_group_size: int = 5
    comment_rate: float = 0.08

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise ValueError(f"size must be one of {', '.join(SIZES)} (got {self.size!r})")
        if not -1.0 < self.true_latent_r < 1.0:
            raise ValueError("true_latent_r must be in (-1, 1)")
        if self.lag_periods not in (0, 1):
            raise ValueError("lag_periods must be 0 or 1")
        if self.lag_periods >= self.periods:
            raise ValueError("lag_periods must be below the number of periods")
        for name in (
            "icc_treatment",
            "icc_customer",
            "stability",
            "person_share",
            "person_persistence",
        ):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1)")
        for name in ("employee_response_rate", "customer_response_rate", "customer_sample_rate"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1]")
        if not 0.0 <= self.workload_confounding < 1.0:
            raise ValueError("workload_confounding must be in [0, 1)")
        if not -1.0 < self.autocorrelation < 1.0:
            raise ValueError("autocorrelation must be in (-1, 1)")
        if self.outcome_explained_variance() > 1.0:
            raise ValueError("true_latent_r and workload_confounding are incompatible")
        if not 0.0 <= self.monthly_turnover < 0.5 or not 0.0 <= self.reorg_share <= 1.0:
            raise ValueError("monthly_turnover must be in [0, 0.5) and reorg_share in [0, 1]")
        if self.reorg_period is not None and not 0 < self.reorg_period < self.periods:
            raise ValueError("reorg_period must be inside the generated months")
        parse_month(self.start_month)
        if self.predictor not in EMPLOYEE_CONSTRUCTS or not self.predictor.startswith("treat"):
            raise ValueError(f"predictor must be a treatment construct (got {self.predictor!r})")
        if self.outcome not in ("csat", "nps", "ces", "staff_treatment"):
            raise ValueError("outcome must be csat, nps, ces or staff_treatment")
        if self.min_group_size < 1:
            raise ValueError("min_group_size must be >= 1")

    @property
    def preset(self) -> SizePreset:
        return SIZES[self.size]

    @property
    def periods(self) -> int:
        return SIZES[self.size].periods

    @property
    def reorg_at(self) -> int:
        return self.periods // 2 if self.reorg_period is None else self.reorg_period

    def paths(self) -> tuple[float, float, float]:
        """(b, g, s): direct effect of T, of -W, and the residual weight of O (module doc)."""
        c, r = self.workload_confounding, self.true_latent_r
        b = (r - c * c) / (1.0 - c * c)
        g = c * (1.0 - b)
        return b, g, math.sqrt(max(0.0, 1.0 - self.outcome_explained_variance()))

    def outcome_explained_variance(self) -> float:
        c, r = self.workload_confounding, self.true_latent_r
        b = (r - c * c) / (1.0 - c * c)
        g = c * (1.0 - b)
        return b * b + g * g + 2.0 * b * g * c

    def with_overrides(self, **changes: Any) -> DemoConfig:
        return replace(self, **changes)


# ------------------------------------------------------------------------------ periods


@dataclass(frozen=True)
class Period:
    index: int
    label: str  # "2026-03", as the survey service names monthly periods
    first_day: date
    last_day: date


def parse_month(value: str) -> date:
    try:
        year, month = (int(part) for part in value.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise ValueError(f"start_month must be YYYY-MM (got {value!r})") from None


def month_periods(start_month: str, count: int) -> tuple[Period, ...]:
    first = parse_month(start_month)
    periods = []
    for index in range(count):
        month0 = first.month - 1 + index
        year, month = first.year + month0 // 12, month0 % 12 + 1
        days = calendar.monthrange(year, month)[1]
        periods.append(
            Period(index, f"{year}-{month:02d}", date(year, month, 1), date(year, month, days))
        )
    return tuple(periods)


# ------------------------------------------------------------------------------ numeric core


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


@dataclass(frozen=True)
class _Core:
    """Everything numeric; records (ids, dates, strings) are built from it by ``generate``."""

    team_size: IntArray
    team_front: BoolArray
    latent: Latent
    # Employees: team, start and end day (ordinal; end -1 = still employed).
    emp_team: IntArray
    emp_start: IntArray
    emp_end: IntArray
    # Employee answers of everyone invited (eligible at the wave's opening), all periods.
    ans_emp: IntArray
    ans_period: IntArray
    ans_responds: BoolArray
    ans_scores: NDArray[np.int16]
    # Interactions, in time order.
    int_team: IntArray
    int_period: IntArray
    int_second: IntArray  # seconds since the first generated month began
    int_channel: IntArray
    int_customer: IntArray
    int_responds: BoolArray
    int_sampled: BoolArray  # the Monte Carlo's stand-in for the service's sampling
    int_scores: NDArray[np.int16]


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


def _team_sizes(rng: np.random.Generator, n: int, mean: float) -> IntArray:
    minimum = 4
    extra = mean - minimum
    shape = 1.0 / 0.4**2  # coefficient of variation 0.4 of the random part
    return (minimum + rng.poisson(rng.gamma(shape, extra / shape, n))).astype(np.int64)


def _scores(
    latent: FloatArray,
    person: FloatArray,
    slots: Sequence[ItemSlot],
    icc: float,
    h: float,
    rng: np.random.Generator,
) -> NDArray[np.int16]:
    """Scores (rows x items) from each row's unit latent and individual tendency."""
    noise = rng.standard_normal((latent.size, len(slots)))
    z = math.sqrt(icc) * latent[:, None] + math.sqrt(1.0 - icc) * (
        math.sqrt(h) * person[:, None] + math.sqrt(1.0 - h) * noise
    )
    out = np.empty(z.shape, dtype=np.int16)
    for k, slot in enumerate(slots):
        spec = slot.spec
        location = spec.location + CONSTRUCT_SHIFT.get(slot.construct, 0.0) * (
            (spec.high - spec.low) / 4.0
        )
        raw = np.clip(np.floor(location + spec.spread * z[:, k] + 0.5), spec.low, spec.high)
        out[:, k] = (spec.low + spec.high - raw) if slot.reverse else raw
    return out


def _employees(
    rng: np.random.Generator, config: DemoConfig, sizes: IntArray, periods: tuple[Period, ...]
) -> tuple[IntArray, IntArray, IntArray]:
    first = periods[0].first_day.toordinal()
    team = np.repeat(np.arange(sizes.size), sizes)
    start = first - rng.integers(30, 8 * 365, team.size)
    end = np.full(team.size, -1, dtype=np.int64)
    teams, starts, ends = [team], [start], [end]
    window_end = periods[-1].last_day.toordinal()
    for period in periods:
        all_team = np.concatenate(teams)
        all_end = np.concatenate(ends)
        all_start = np.concatenate(starts)
        month0, days = period.first_day.toordinal(), (period.last_day - period.first_day).days + 1
        active = np.flatnonzero((all_end < 0) & (all_start <= month0))
        leaving = active[rng.random(active.size) < config.monthly_turnover]
        leave_day = month0 + rng.integers(0, days, leaving.size)
        all_end[leaving] = leave_day
        hire_day = leave_day + 1 + rng.integers(0, 21, leaving.size)
        hired = hire_day <= window_end
        teams = [all_team, all_team[leaving][hired]]
        starts = [all_start, hire_day[hired]]
        ends = [all_end, np.full(int(hired.sum()), -1, dtype=np.int64)]
    return np.concatenate(teams), np.concatenate(starts), np.concatenate(ends)


def _simulate(config: DemoConfig, seed: int, bank: ItemBank) -> _Core:
    preset = config.preset
    periods = month_periods(config.start_month, config.periods)
    # Independent streams per part: changing one part's size never reshuffles another.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    org_rng, latent_rng, emp_rng, ans_rng, int_rng, cus_rng = streams
    n_front, n_back = preset.front_line_teams, preset.back_office_teams
    sizes = _team_sizes(org_rng, n_front + n_back, preset.mean_team_size)
    front = np.arange(n_front + n_back) < n_front
    latent = simulate_latent(latent_rng, config, n_front + n_back)

    emp_team, emp_start, emp_end = _employees(emp_rng, config, sizes, periods)
    trait = ans_rng.standard_normal(emp_team.size)
    a_emp, a_period, a_resp, a_scores = [], [], [], []
    for period in periods:
        opens = period.first_day.toordinal()
        eligible = np.flatnonzero((emp_start <= opens) & ((emp_end < 0) | (emp_end >= opens)))
        persistence = config.person_persistence
        person = math.sqrt(persistence) * trait[eligible] + math.sqrt(
            1.0 - persistence
        ) * ans_rng.standard_normal(eligible.size)
        unit = latent.treatment_in(period.index)[emp_team[eligible]]
        a_scores.append(
            _scores(unit, person, bank.employee, config.icc_treatment, config.person_share, ans_rng)
        )
        a_emp.append(eligible)
        a_period.append(np.full(eligible.size, period.index, dtype=np.int64))
        a_resp.append(ans_rng.random(eligible.size) < config.employee_response_rate)

    # Interactions: Poisson per front-line team and month, busier under higher workload.
    base = preset.interactions / (config.periods * float(sizes[:n_front].sum()))
    intensity = np.exp(
        WORKLOAD_INTENSITY * latent.workload[:n_front, config.lag_periods :]
        - WORKLOAD_INTENSITY**2 / 2
    )
    counts = int_rng.poisson(base * sizes[:n_front, None] * intensity)
    team_of = np.repeat(np.repeat(np.arange(n_front), config.periods), counts.ravel())
    period_of = np.repeat(np.tile(np.arange(config.periods), n_front), counts.ravel())
    origin = periods[0].first_day.toordinal()
    month_start = np.array([(p.first_day.toordinal() - origin) * 86400 for p in periods])
    month_days = np.array([(p.last_day - p.first_day).days + 1 for p in periods])
    day = (int_rng.random(team_of.size) * month_days[period_of]).astype(np.int64)
    second = month_start[period_of] + day * 86400 + int_rng.integers(8 * 3600, 19 * 3600, day.size)
    order = np.argsort(second, kind="stable")
    team_of, period_of, second = team_of[order], period_of[order], second[order]
    division = _front_division(n_front, preset)
    channel = np.empty(team_of.size, dtype=np.int64)
    draws = int_rng.random(team_of.size)
    for d in range(preset.front_line_divisions):
        mask = division[team_of] == d
        cumulative = np.cumsum(CHANNEL_MIX[d % len(CHANNEL_MIX)])
        channel[mask] = np.minimum(np.searchsorted(cumulative, draws[mask]), len(CHANNELS) - 1)
    customer = int_rng.integers(0, preset.customers, team_of.size)
    responds = int_rng.random(team_of.size) < config.customer_response_rate
    sampled = int_rng.random(team_of.size) < config.customer_sample_rate
    mood = cus_rng.standard_normal(team_of.size)
    outcome = latent.outcome[team_of, period_of]
    scores = _scores(
        outcome, mood, bank.customer, config.icc_customer, config.person_share, cus_rng
    )
    return _Core(
        team_size=sizes,
        team_front=front,
        latent=latent,
        emp_team=emp_team,
        emp_start=emp_start,
        emp_end=emp_end,
        ans_emp=np.concatenate(a_emp),
        ans_period=np.concatenate(a_period),
        ans_responds=np.concatenate(a_resp),
        ans_scores=np.concatenate(a_scores),
        int_team=team_of,
        int_period=period_of,
        int_second=second,
        int_channel=channel,
        int_customer=customer,
        int_responds=responds,
        int_sampled=sampled,
        int_scores=scores,
    )


def _front_division(n_front: int, preset: SizePreset) -> IntArray:
    """Division of each front-line team: departments of ``teams_per_department`` teams are
    dealt to the front-line divisions in turn."""
    department = np.arange(n_front) // preset.teams_per_department
    return (department % preset.front_line_divisions).astype(np.int64)


# ------------------------------------------------------------------------------ observed


@dataclass(frozen=True)
class UnitMeans:
    """Observed unit means over the analysis window (units with >= k on both sides)."""

    teams: IntArray
    predictor: FloatArray
    outcome: FloatArray
    n_employee: IntArray
    n_customer: IntArray

    def correlation(self) -> float:
        if self.teams.size < 3:
            return float("nan")
        return float(np.corrcoef(self.predictor, self.outcome)[0, 1])


def _construct_scores(
    scores: NDArray[np.int16], slots: Sequence[ItemSlot], construct: str
) -> FloatArray:
    """Per-respondent construct score on 0-100 (reverse items scored back), as the
    correlation service computes it."""
    cols = [k for k, s in enumerate(slots) if s.construct == construct]
    values = []
    for k in cols:
        spec = slots[k].spec
        raw = scores[:, k].astype(np.float64)
        scored = spec.low + spec.high - raw if slots[k].reverse else raw
        values.append((scored - spec.low) / (spec.high - spec.low) * 100.0)
    return np.asarray(np.mean(values, axis=0))


def _unit_means(
    core: _Core,
    config: DemoConfig,
    bank: ItemBank,
    lag: int,
    invited: BoolArray | None = None,
) -> UnitMeans:
    """Predictor over periods [0, P - 1 - lag] against outcome over [lag, P - 1]; customers
    count when invited (``invited``, else the sampling stand-in) and responding."""
    periods = config.periods
    n_teams = core.team_size.size
    emp = core.ans_responds & (core.ans_period <= periods - 1 - lag)
    x = _construct_scores(core.ans_scores[emp], bank.employee, config.predictor)
    x_team = core.emp_team[core.ans_emp[emp]]
    asked = core.int_sampled if invited is None else invited
    cus = core.int_responds & asked & (core.int_period >= lag)
    y = _construct_scores(core.int_scores[cus], bank.customer, config.outcome)
    y_team = core.int_team[cus]
    nx = np.bincount(x_team, minlength=n_teams)
    ny = np.bincount(y_team, minlength=n_teams)
    keep = np.flatnonzero((nx >= config.min_group_size) & (ny >= config.min_group_size))
    sx = np.bincount(x_team, weights=x, minlength=n_teams)
    sy = np.bincount(y_team, weights=y, minlength=n_teams)
    return UnitMeans(
        teams=keep,
        predictor=sx[keep] / nx[keep],
        outcome=sy[keep] / ny[keep],
        n_employee=nx[keep],
        n_customer=ny[keep],
    )


def expected_observed_r(
    config: DemoConfig,
    seed: int,
    replicates: int = 200,
    bank: ItemBank = DEFAULT_BANK,
    lag: int = 0,
) -> float:
    """Monte Carlo of the population correlation of observed unit means (the parameter a
    report's Pearson r estimates): ``replicates`` fresh organisations of this config, units
    pooled. ``lag`` = 0 pairs both sides over the whole range, as the report's headline
    estimate does; ``lag`` = L pairs predictor months [0, P - 1 - L] with outcome months
    [L, P - 1]."""
    if replicates < 1:
        raise ValueError("replicates must be >= 1")
    xs, ys = [], []
    for child in np.random.SeedSequence([seed, 0x5EED]).spawn(replicates):
        core = _simulate(config, int(child.generate_state(1)[0]), bank)
        means = _unit_means(core, config, bank, lag)
        xs.append(means.predictor - means.predictor.mean())
        ys.append(means.outcome - means.outcome.mean())
    return _pooled_r(xs, ys)


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
    return _pooled_r(xs, ys)


def _pooled_r(xs: list[FloatArray], ys: list[FloatArray]) -> float:
    x, y = np.concatenate(xs), np.concatenate(ys)
    return float((x @ y) / math.sqrt((x @ x) * (y @ y)))


# ------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class Unit:
    unit_id: str
    name: str
    parent_id: str  # "" for the company
    unit_type: str  # "management", "front_line" or "back_office"


@dataclass(frozen=True)
class Move:
    """The reorganisation: ``unit_id`` reports to ``parent_id`` from ``effective_from``."""

    unit_id: str
    parent_id: str
    previous_parent_id: str
    effective_from: date
    period: int


@dataclass(frozen=True)
class Employee:
    employee_id: str
    email: str
    unit_id: str
    start_date: date
    end_date: date | None


@dataclass(frozen=True)
class EmployeeAnswer:
    employee: int  # index into Organisation.employees
    period: int
    scores: tuple[int, ...]  # ItemBank.employee order
    comment: str


@dataclass(frozen=True)
class Interaction:
    interaction_id: str
    unit_id: str
    occurred_at: str  # RFC 3339, UTC
    channel: str
    customer_key: str
    contact: str
    period: int
    responds: bool
    scores: tuple[int, ...]  # ItemBank.customer order
    comment: str


@dataclass(frozen=True)
class Organisation:
    config: DemoConfig
    seed: int
    bank: ItemBank
    periods: tuple[Period, ...]
    units: tuple[Unit, ...]  # parents before children
    teams: tuple[str, ...]  # row order of ``latent``
    moves: tuple[Move, ...]
    employees: tuple[Employee, ...]
    # Per period: how many employees are on the roster when its wave opens.
    eligible: tuple[int, ...]
    answers: tuple[EmployeeAnswer, ...]  # of those who respond
    interactions: tuple[Interaction, ...]  # in time order
    latent: Latent
    _core: _Core = field(repr=False, compare=False)

    @property
    def front_line_teams(self) -> tuple[str, ...]:
        return tuple(u.unit_id for u in self.units if u.unit_type == "front_line")

    @property
    def root_id(self) -> str:
        return self.units[0].unit_id

    def wave_opens_on(self, period: int) -> date:
        return self.periods[period].first_day

    def observed(self, lag: int = 0, invited: Collection[str] | None = None) -> UnitMeans:
        """Unit means of the generated answers (``lag`` as in ``expected_observed_r``).
        Pass the interaction ids the survey service invited to get exactly what the report
        computes once every response is counted; without them the sampling stand-in
        decides."""
        mask = None
        if invited is not None:
            chosen = set(invited)
            mask = np.array([i.interaction_id in chosen for i in self.interactions], dtype=bool)
        return _unit_means(self._core, self.config, self.bank, lag, mask)

    def respondent_scores(self, construct: str, lag: int = 0) -> tuple[IntArray, FloatArray]:
        """(team row, 0-100 construct score) of every respondent in the analysis window of
        ``observed(lag)``: the input of ICC(1)/ICC(2) over the range."""
        core, periods = self._core, self.config.periods
        if construct in {s.construct for s in self.bank.employee}:
            rows = core.ans_responds & (core.ans_period <= periods - 1 - lag)
            scores = _construct_scores(core.ans_scores[rows], self.bank.employee, construct)
            return core.emp_team[core.ans_emp[rows]], scores
        rows = core.int_responds & core.int_sampled & (core.int_period >= lag)
        scores = _construct_scores(core.int_scores[rows], self.bank.customer, construct)
        return core.int_team[rows], scores

    def counts(self) -> dict[str, int]:
        return {
            "units": len(self.units),
            "front_line_teams": len(self.front_line_teams),
            "teams": len(self.teams),
            "employees": len(self.employees),
            "periods": len(self.periods),
            "employee_invitations": sum(self.eligible),
            "employee_responses": len(self.answers),
            "interactions": len(self.interactions),
            "customer_responses_if_all_invited": sum(i.responds for i in self.interactions),
            "customer_responses_expected": int(
                (self._core.int_responds & self._core.int_sampled).sum()
            ),
        }


POSITIVE = (
    "The team was friendly and quick.",
    "Thanks, that was really helpful.",
    "Great support, problem solved.",
    "Clear and kind explanation.",
)
NEGATIVE = (
    "I had to wait far too long.",
    "Nobody seemed to own my problem.",
    "Staff looked overworked.",
    "I was passed around between people.",
)
EMPLOYEE_COMMENTS = (
    "More people on the busy shifts.",
    "Better tools for the counter.",
    "More feedback from my manager.",
    "Fewer last-minute schedule changes.",
)


def _hierarchy(preset: SizePreset) -> tuple[list[Unit], list[str], list[str]]:
    """Company -> divisions -> departments -> teams; returns units, team ids (front-line
    first) and each front-line department's division id."""
    units = [Unit("ORG", "Pulse Demo Company", "", "management")]
    for d in range(preset.front_line_divisions):
        units.append(
            Unit(f"D-{d + 1}", DIVISION_NAMES[d % len(DIVISION_NAMES)], "ORG", "management")
        )
    units.append(Unit("D-BO", "Operations", "ORG", "management"))
    teams: list[str] = []
    department_division: list[str] = []
    per = preset.teams_per_department
    n_front_departments = math.ceil(preset.front_line_teams / per)
    departments = []
    for p in range(n_front_departments):
        division = f"D-{p % preset.front_line_divisions + 1}"
        region = REGIONS[(p // preset.front_line_divisions) % len(REGIONS)]
        name = f"{DIVISION_NAMES[p % preset.front_line_divisions % len(DIVISION_NAMES)]} {region}"
        if p // preset.front_line_divisions >= len(REGIONS):
            name += f" {p // preset.front_line_divisions // len(REGIONS) + 1}"
        departments.append(Unit(f"P-{p + 1:02d}", name, division, "management"))
        department_division.append(division)
    n_back_departments = math.ceil(preset.back_office_teams / per)
    back_names = ("Finance", "IT", "HR", "Logistics", "Procurement", "Legal")
    for q in range(n_back_departments):
        name = back_names[q % len(back_names)]
        departments.append(Unit(f"P-{n_front_departments + q + 1:02d}", name, "D-BO", "management"))
    units.extend(departments)
    for t in range(preset.front_line_teams):
        department = departments[t // per]
        team_id = f"T-{t + 1:03d}"
        teams.append(team_id)
        units.append(
            Unit(team_id, f"{department.name} team {t % per + 1}", department.unit_id, "front_line")
        )
    for b in range(preset.back_office_teams):
        department = departments[n_front_departments + b // per]
        team_id = f"T-{preset.front_line_teams + b + 1:03d}"
        teams.append(team_id)
        units.append(
            Unit(
                team_id, f"{department.name} team {b % per + 1}", department.unit_id, "back_office"
            )
        )
    return units, teams, department_division


def _reorg(
    rng: np.random.Generator, config: DemoConfig, units: list[Unit], periods: tuple[Period, ...]
) -> list[Move]:
    front = [u for u in units if u.unit_type == "front_line"]
    departments = {u.unit_id: u for u in units if u.unit_id.startswith("P-")}
    front_departments = sorted({u.parent_id for u in front})
    movers = rng.choice(len(front), size=round(config.reorg_share * len(front)), replace=False)
    moves = []
    when = periods[config.reorg_at]
    for index in sorted(int(i) for i in movers):
        team = front[index]
        division = departments[team.parent_id].parent_id
        same_division = [
            d
            for d in front_departments
            if d != team.parent_id and departments[d].parent_id == division
        ]
        options = same_division or [d for d in front_departments if d != team.parent_id]
        if not options:
            continue
        target = options[int(rng.integers(0, len(options)))]
        moves.append(Move(team.unit_id, target, team.parent_id, when.first_day, when.index))
    return moves


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(config: DemoConfig, seed: int, bank: ItemBank = DEFAULT_BANK) -> Organisation:
    """The organisation, its people, their answers and the customer interactions of
    ``config`` for ``seed`` (identical for identical arguments)."""
    core = _simulate(config, seed, bank)
    preset = config.preset
    periods = month_periods(config.start_month, config.periods)
    units, teams, _ = _hierarchy(preset)
    reorg_rng = np.random.default_rng(np.random.SeedSequence([seed, 0x0E09]))
    moves = _reorg(reorg_rng, config, units, periods)
    text_rng = np.random.default_rng(np.random.SeedSequence([seed, 0x7E27]))

    employees = tuple(
        Employee(
            employee_id=f"e{i + 1:05d}",
            email=f"e{i + 1:05d}@example.test",
            unit_id=teams[int(core.emp_team[i])],
            start_date=date.fromordinal(int(core.emp_start[i])),
            end_date=None if core.emp_end[i] < 0 else date.fromordinal(int(core.emp_end[i])),
        )
        for i in range(core.emp_team.size)
    )
    eligible = tuple(int((core.ans_period == p).sum()) for p in range(config.periods))
    responders = np.flatnonzero(core.ans_responds)
    with_comment = text_rng.random(responders.size) < config.comment_rate
    picks = text_rng.integers(0, len(EMPLOYEE_COMMENTS), responders.size)
    answers = tuple(
        EmployeeAnswer(
            employee=int(core.ans_emp[row]),
            period=int(core.ans_period[row]),
            scores=tuple(int(v) for v in core.ans_scores[row]),
            comment=EMPLOYEE_COMMENTS[int(picks[n])] if with_comment[n] else "",
        )
        for n, row in enumerate(responders)
    )

    origin = datetime.combine(periods[0].first_day, datetime.min.time(), tzinfo=UTC)
    outcome_cols = bank.customer_columns(config.outcome)
    high = max(bank.customer[c].spec.high for c in outcome_cols)
    n_int = core.int_team.size
    commenting = text_rng.random(n_int) < config.comment_rate
    comment_pick = text_rng.integers(0, len(POSITIVE), n_int)
    interactions = []
    for m in range(n_int):
        scores = tuple(int(v) for v in core.int_scores[m])
        comment = ""
        if commenting[m] and core.int_responds[m]:
            happy = scores[outcome_cols[0]] >= high - 1
            comment = (POSITIVE if happy else NEGATIVE)[int(comment_pick[m])]
        customer = int(core.int_customer[m])
        interactions.append(
            Interaction(
                interaction_id=f"I-{seed}-{m + 1:07d}",
                unit_id=teams[int(core.int_team[m])],
                occurred_at=_rfc3339(origin + timedelta(seconds=int(core.int_second[m]))),
                channel=CHANNELS[int(core.int_channel[m])],
                customer_key=f"K{customer + 1:06d}",
                contact=f"c{customer + 1:06d}@example.test",
                period=int(core.int_period[m]),
                responds=bool(core.int_responds[m]),
                scores=scores,
                comment=comment,
            )
        )
    return Organisation(
        config=config,
        seed=seed,
        bank=bank,
        periods=periods,
        units=tuple(units),
        teams=tuple(teams),
        moves=tuple(moves),
        employees=employees,
        eligible=eligible,
        answers=answers,
        interactions=tuple(interactions),
        latent=core.latent,
        _core=core,
    )
