"""Sufficient statistics, pure: the aggregate rows the service stores per (unit, period,
construct or item) and the one accumulator that sums them.

Every number Pulse releases is a function of sums over respondents (count, sum, sum of
squares, NPS categories, top-two-box counts), so adding rows is all a score or a report
needs; nothing is ever read per respondent."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import pulse_stats
from pulse.types.v1 import types_pb2
from pulse_common.measures import SCALE_RANGES
from scipy import stats

NPS_SCALE = SCALE_RANGES[types_pb2.SCALE_NPS_0_10]


def is_nps_scale(scale_min: int, scale_max: int) -> bool:
    """NPS items count promoters, passives and detractors instead of top-two boxes."""
    return (scale_min, scale_max) == NPS_SCALE


def measure_key(population: str, construct: str) -> str:
    """What the confidentiality rules count, e.g. ``employee:treatment.fairness``."""
    return f"{population}:{construct}"


@dataclass(frozen=True, slots=True)
class ConstructRow:
    """Respondents' construct scores (0-100) in one unit and period."""

    unit_id: str
    period: str
    construct: str
    population: str
    n: int
    sum: float
    sumsq: float


@dataclass(frozen=True, slots=True)
class ItemRow:
    """Answers to one item in one unit and period (after reverse scoring)."""

    unit_id: str
    period: str
    item_id: str
    construct: str
    scale_min: int
    scale_max: int
    n: int
    sum: float
    sumsq: float
    promoters: int
    passives: int
    detractors: int
    top2: int
    # Responses counted with their construct score, and the sum of item value x construct
    # score (0-100) over them: item-total covariances (``reliability``). Cells counted before
    # these were kept have n_xt < n.
    n_xt: int = 0
    sum_xt: float = 0.0

    @property
    def nps_scale(self) -> bool:
        return is_nps_scale(self.scale_min, self.scale_max)


@dataclass(frozen=True, slots=True)
class ChannelRow:
    """Customer (or internal) responses per channel in one unit and period."""

    unit_id: str
    period: str
    channel: str
    n: int


@dataclass
class Sums:
    """Additive statistics of one group of answers: scores (n, sum, sum of squares) and the
    category counts of its items (NPS categories; top-two boxes of the non-NPS items, whose
    answers are the denominator)."""

    n: int = 0
    total: float = 0.0
    squares: float = 0.0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    top2: int = 0
    answers: int = 0

    def add(self, n: int, total: float, squares: float) -> None:
        self.n += n
        self.total += total
        self.squares += squares

    def add_sums(self, other: Sums) -> None:
        """Add every field of ``other`` (spelled out: a dashboard adds tens of thousands)."""
        self.n += other.n
        self.total += other.total
        self.squares += other.squares
        self.promoters += other.promoters
        self.passives += other.passives
        self.detractors += other.detractors
        self.top2 += other.top2
        self.answers += other.answers

    def add_categories(self, row: ItemRow) -> None:
        """Count an item row's categories (its scores are counted by its construct row)."""
        self.promoters += row.promoters
        self.passives += row.passives
        self.detractors += row.detractors
        if not row.nps_scale:
            self.top2 += row.top2
            self.answers += row.n

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    @property
    def nps_answers(self) -> int:
        return self.promoters + self.passives + self.detractors

    def nps(self) -> float:
        """NPS (-100..100) of the counted categories; NaN when there are none."""
        if not self.nps_answers:
            return math.nan
        return pulse_stats.nps_from_counts(self.promoters, self.passives, self.detractors).nps


@functools.lru_cache(maxsize=4096)
def t_quantile(p: float, df: int) -> float:
    """Student t quantile (scipy), remembered: cells share a few sample sizes."""
    return float(stats.t.ppf(p, df))


def mean_interval(
    n: int, total: float, squares: float, level: float = 0.95
) -> tuple[float, float, float, float]:
    """Mean, t-interval and standard error from sufficient statistics (NaN interval and
    standard error below two answers)."""
    mean = total / n
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    variance = max(squares - total * total / n, 0.0) / (n - 1)
    se = math.sqrt(variance / n)
    half = t_quantile(0.5 + level / 2.0, n - 1) * se
    return mean, mean - half, mean + half, se


def bounded_mean_interval(
    n: int,
    total: float,
    squares: float,
    scale: tuple[float, float] = (0.0, 100.0),
    level: float = 0.95,
) -> tuple[float, float, float, float]:
    """Mean, an interval that stays inside ``scale`` and the standard error, from sufficient
    statistics (NaN interval and standard error below two answers).

    The t-interval of ``mean_interval`` is symmetric and leaves a bounded scale near its ends
    (a mean of 90 from six answers gave [37, 113]). Here the mean is mapped to p in [0, 1],
    the interval is built on the logit scale with the delta method, se(logit p) =
    se(p) / (p (1 - p)), with the t quantile on n - 1 degrees of freedom, and mapped back:
    a logit-transformed interval (Agresti, *Categorical Data Analysis*, 3rd ed., 2013,
    §1.4 and §16.1 on the delta method). At the ends of the scale (p = 0 or 1, where the
    logit is not defined) it is the Wilson (1927) score interval of n answers with that
    share, so it still has a width. Both ends always lie inside the scale."""
    mean, _, _, se = mean_interval(n, total, squares, level)
    low, high = scale
    if n < 2 or not math.isfinite(se):
        return mean, math.nan, math.nan, se
    width = high - low
    p = min(1.0, max(0.0, (mean - low) / width))
    if p in (0.0, 1.0):
        share = pulse_stats.wilson_interval(round(p * n), n, confidence_level=level)
        return mean, low + share.ci_low * width, low + share.ci_high * width, se
    t = t_quantile(0.5 + level / 2.0, n - 1)
    centre = math.log(p / (1.0 - p))
    half = t * (se / width) / (p * (1.0 - p))
    return mean, low + width * _expit(centre - half), low + width * _expit(centre + half), se


def _expit(x: float) -> float:
    """The logistic function, without overflow for large |x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)
