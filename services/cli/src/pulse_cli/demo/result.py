"""What a demo run returns and ``pulse demo --json`` prints: the planted truth beside the
estimate of the live report."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from pulse.correlation.v1 import correlation_service_pb2 as corr_pb


@dataclass(frozen=True)
class EstimateOut:
    r: float
    ci_low: float
    ci_high: float
    disattenuated_r: float
    p_value: float
    n: int
    method: str


def estimate_of(linkage: corr_pb.PredictorLinkage | None) -> EstimateOut:
    """The headline linkage's Pearson estimate; NaN throughout when the report has none."""
    if linkage is None:
        return EstimateOut(math.nan, math.nan, math.nan, math.nan, math.nan, 0, "pearson")
    pearson = linkage.pearson
    return EstimateOut(
        r=pearson.r,
        ci_low=pearson.ci_low,
        ci_high=pearson.ci_high,
        disattenuated_r=linkage.disattenuated_r,
        p_value=pearson.p_value,
        n=pearson.n,
        method=pearson.method or "pearson",
    )


@dataclass(frozen=True)
class DriverOut:
    """One driver: what was planted beside what the report found. ``planted`` is the
    estimand of the report's Pearson r (``observed.expected_driver_rs``: the population
    correlation of observed unit means at the report's pairing), ``covered`` whether the
    report's interval contains it; ``latent`` the correlation of the teams' latent means and
    ``effect`` the planted direct effect on the outcome one month later (0: none)."""

    name: str
    planted: float
    estimate: float
    ci_low: float
    ci_high: float
    covered: bool
    latent: float
    effect: float
    role: str


def driver_of(
    name: str, planted: float, latent: float, effect: float, role: str, estimate: EstimateOut
) -> DriverOut:
    covered = bool(estimate.ci_low <= planted <= estimate.ci_high)
    return DriverOut(
        name, planted, estimate.r, estimate.ci_low, estimate.ci_high, covered, latent, effect, role
    )


@dataclass
class DemoResult:
    """Everything ``pulse demo --json`` prints (the first nine keys and ``drivers`` are the
    contract)."""

    responses_submitted: int
    responses_counted: int
    true_latent_r: float
    expected_observed_r: float
    estimate: EstimateOut
    units_reported: int
    units_suppressed: int
    report_id: str
    elapsed_s: float
    size: str = ""
    seed: int = 0
    predictor: str = ""
    outcome: str = ""
    lag_periods: int = 0
    periods: list[str] = field(default_factory=list)
    # Pearson r of exactly the answers generated, aggregated as the report does: the number
    # the report must reproduce when every response is counted.
    generated_r: float = math.nan
    verdict_level: str = ""
    verdict_text: str = ""
    interval_covers_expected: bool = False
    lags: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    drivers: list[DriverOut] = field(default_factory=list)
    # Where a leader clicks next (label -> path on the dashboard's web front).
    next_steps: dict[str, str] = field(default_factory=dict)
    # Employee survey links of the live wave of the current month (contact -> path on the
    # web front): they open the form; the backfilled months' links are closed.
    survey_links: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {key: json_safe(value) for key, value in asdict(self).items()}


def json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (JSON has no NaN; an
    estimate the report could not compute prints as null), through dicts and lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_safe(item) for item in value]
    return value
