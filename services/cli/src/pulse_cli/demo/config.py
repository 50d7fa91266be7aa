"""The demo's configuration: how large the organisation is (``SIZES``), the truth it plants
and how people answer (``DemoConfig``), and the months it covers. Pure: no I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from pulse_common.measures import CUSTOMER_OUTCOMES, REPORT_DEFAULTS, TREATMENT_CONSTRUCTS
from pulse_common.periods import Period, parse_period


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
    """Size and the planted truth. ``start_month`` is the first generated month ("2026-03");
    the demo always reports by month, whatever ``PULSE_PERIOD`` says elsewhere."""

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
    outcome: str = REPORT_DEFAULTS.outcome
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
        self.first_month()  # raises for a malformed start_month
        if self.predictor not in TREATMENT_CONSTRUCTS:
            raise ValueError(f"predictor must be a treatment construct (got {self.predictor!r})")
        if self.outcome not in CUSTOMER_OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(CUSTOMER_OUTCOMES)}")
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

    def first_month(self) -> Period:
        try:
            return parse_period(self.start_month, "month")
        except ValueError as error:
            raise ValueError(f"start_month {error}") from None

    def months(self) -> tuple[Period, ...]:
        """The generated months in order; position ``i`` is the generator's period ``i``."""
        first = self.first_month()
        return tuple(first.shift(index) for index in range(self.periods))
