"""The demo's configuration: how large the organisation is (``SIZES``), the truth it plants
and how people answer (``DemoConfig``), and the months it covers. Pure: no I/O."""

from __future__ import annotations

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
    # Smallest team: large enough that a team reaches k answers every month on both sides,
    # so the report keeps it as its own unit (the correlation service releases a team for
    # a range only if every month of it is released).
    min_team_size: int = 4


SIZES: dict[str, SizePreset] = {
    # For tests: a dozen teams over three months (about 200 people, 1,500 interactions).
    "tiny": SizePreset(12, 2, 2, 4, 14.0, 3, 1_500, 600, min_team_size=10),
    # The default: 36 teams over six months (about 540 people, 9,000 interactions).
    "small": SizePreset(30, 6, 2, 6, 15.0, 6, 9_000, 4_000, min_team_size=10),
    "medium": SizePreset(120, 20, 2, 10, 10.7, 12, 60_000, 25_000),
    "large": SizePreset(300, 50, 3, 10, 10.7, 12, 150_000, 60_000),
}


@dataclass(frozen=True)
class DemoConfig:
    """Size and the planted truth. ``start_month`` is the first generated month ("2026-03");
    the demo always reports by month, whatever ``PULSE_PERIOD`` says elsewhere."""

    size: str = "small"
    # The planted direct effects on the customer outcome, one month later (``latent``):
    # support and fairness drive it, workload (its -W) depresses it and both of them.
    support_effect: float = 0.35
    fairness_effect: float = 0.25
    workload_effect: float = 0.25
    # Support works the other way round in this region's teams (none when the size has no
    # department there).
    reverse_region: str = "East"
    # Share of a front-line team's management quality that comes from its back office.
    serves_share: float = 0.3
    # The action that works raises its team's support by this much (latent SD) from
    # ``action_period`` (None = the month after the reorganisation).
    action_effect: float = 1.5
    action_period: int | None = None
    # The last months whose customer interactions go through the live path (invitation,
    # submission); the earlier months' answers are imported as history (``history``).
    live_months: int = 1
    lag_periods: int = 1
    icc_treatment: float = 0.15
    icc_customer: float = 0.10
    employee_response_rate: float = 0.85
    customer_response_rate: float = 0.35
    # Share of interactions the survey service invites (PULSE_CUSTOMER_SAMPLE_RATE of the
    # stack the demo starts); the response rate applies to those invited. The service's own
    # draw (a keyed hash of the interaction id) decides which; the Monte Carlo models it as
    # an independent draw with this probability. Everyone is invited so that teams gather
    # the ten answers a month that their comments need.
    customer_sample_rate: float = 1.0
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
    # The report's headline pair (csat is the service-profit chain's outcome).
    predictor: str = "treatment.support"
    outcome: str = REPORT_DEFAULTS.outcome
    min_group_size: int = 5
    # Share of responding employees and customers who leave a comment.
    comment_rate: float = 0.3

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise ValueError(f"size must be one of {', '.join(SIZES)} (got {self.size!r})")
        for name in ("support_effect", "fairness_effect", "workload_effect"):
            if not -1.0 < getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in (-1, 1)")
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
        if not 0.0 <= self.serves_share < 1.0:
            raise ValueError("serves_share must be in [0, 1)")
        if self.action_period is not None and not 0 < self.action_period < self.periods:
            raise ValueError("action_period must be inside the generated months")
        if self.live_months < 0:
            raise ValueError("live_months must be >= 0")
        if not 0.0 <= self.comment_rate <= 1.0:
            raise ValueError("comment_rate must be in [0, 1]")
        if not -1.0 < self.autocorrelation < 1.0:
            raise ValueError("autocorrelation must be in (-1, 1)")
        from pulse_cli.demo.latent import outcome_weights

        outcome_weights(self, reversed_support=False)  # raises when effects explain > 100 %
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

    @property
    def action_at(self) -> int:
        """Period index from which the working action raises its team's support."""
        if self.action_period is not None:
            return self.action_period
        return min(self.reorg_at + 1, self.periods - 1)

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
