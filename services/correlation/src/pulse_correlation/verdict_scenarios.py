"""The verdict validation's scenarios, pure: a simulated organisation
(``pulse_stats.simulation.simulate_organisation``) summarised into the unit table the
service builds from its aggregates, run through the real report builder (``analyse``), and
the verdict read the way a leader reads it. ``scripts/validate_verdicts.py`` runs many
replicates; the tests run a few."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from pulse_common.measures import TREATMENT_CONSTRUCTS
from pulse_stats.simulation import OrganisationDesign, OrganisationSample, simulate_organisation

from pulse_correlation.analysis import analyse
from pulse_correlation.covariates import UNIT_SIZE
from pulse_correlation.report_model import (
    Options,
    Panel,
    ReportBody,
    RwgInput,
    UnitSums,
    UnitTable,
)
from pulse_correlation.report_unit_sums import period_sums
from pulse_correlation.verdict_text import CUSTOMERS_FIRST, GATE, TREATMENT_FIRST

OUTCOME = "csat"
K = 5  # the deployment's default minimum group size
# Simulated predictor i is construct PREDICTORS[i]: 0 carries any planted link, the last
# measures the confounder of the confounded scenario.
PREDICTORS = (
    "treatment.support",
    "treatment.recognition",
    "treatment.fairness",
    "treatment.voice",
    "treatment.growth",
    "treatment.workload",
)
assert set(PREDICTORS) == set(TREATMENT_CONSTRUCTS)
WORKLOAD = PREDICTORS[-1]
CLAIMS = ("supported", "weak")  # claims of the expected (positive) link
OPPOSITE = "opposite"  # a claim of an inverse association, counted apart


@dataclass(frozen=True)
class Scenario:
    """A planted truth and the report a leader runs on it."""

    name: str
    design: OrganisationDesign
    truth: str  # "none" | "treatment" (leads) | "together" | "outcome" (leads)
    predictors: tuple[str, ...] = PREDICTORS
    covariates: tuple[str, ...] = (UNIT_SIZE,)
    max_lag: int = 1


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("null", OrganisationDesign(), "none"),
    Scenario("concurrent", OrganisationDesign(link="concurrent"), "together"),
    Scenario("reverse", OrganisationDesign(link="reverse"), "outcome"),
    Scenario("leading", OrganisationDesign(link="leading"), "treatment"),
    Scenario(
        "confounded",
        OrganisationDesign(confounding=0.4),
        "none",
        predictors=PREDICTORS[:-1],
        covariates=(UNIT_SIZE, WORKLOAD),
    ),
    Scenario(
        "low_icc",
        OrganisationDesign(link="leading", icc_employee=0.01, icc_customer=0.01),
        "treatment",
    ),
    Scenario("few_units", OrganisationDesign(n_units=12), "none"),
    Scenario("unequal_n", OrganisationDesign(size_cv=1.5), "none"),
)
BY_NAME = {s.name: s for s in SCENARIOS}


def options_for(seed: int, resamples: int = 200) -> Options:
    """The report options of a replicate: the service's defaults but fewer resamples (the
    verdict does not read the bootstrap or permutation estimates)."""
    return Options(resamples, resamples, 0.95, "pearson", seed)


def _mean(total: np.ndarray, n: np.ndarray) -> list[float]:
    with np.errstate(invalid="ignore", divide="ignore"):
        return [float(v) if c > 0 else math.nan for v, c in zip(total / n, n, strict=True)]


def _panel(org: OrganisationSample, units: list[str], predictors: Sequence[str]) -> Panel:
    """Unit-period cells where customers and employees each reach K (unit by unit, periods
    in order), every predictor counted."""
    periods = org.customer_n.shape[1]
    keep = (org.customer_n >= K) & (org.employee_n >= K)
    unit, period = np.nonzero(keep)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = {p: (org.score_sum[PREDICTORS.index(p)] / org.employee_n)[keep] for p in predictors}
        y = (org.customer_sum / org.customer_n)[keep]
    return Panel(
        units=list(units),
        periods=[f"p{t:02d}" for t in range(periods)],
        unit=unit.astype(np.intp),
        period=period.astype(np.intp),
        period_index=period.astype(np.int64),
        y=np.asarray(y, dtype=np.float64),
        x={p: np.asarray(v, dtype=np.float64) for p, v in x.items()},
        reached={p: np.ones(unit.size, dtype=np.bool_) for p in predictors},
    )


def unit_table(org: OrganisationSample, scenario: Scenario) -> UnitTable:
    """The unit table the service would build from these aggregates (every unit released)."""
    units = [f"u{u:03d}" for u in range(org.employee_n.shape[0])]
    emp_n = org.employee_n.sum(axis=1)
    cus_n = org.customer_n.sum(axis=1)
    scale = org.scale_points - 1.0
    x = {p: _mean(org.score_sum[i].sum(axis=1), emp_n) for i, p in enumerate(PREDICTORS)}
    items: dict[str, tuple[str, list[float]]] = {}
    rwg: dict[str, RwgInput] = {}
    for i, p in enumerate(PREDICTORS):
        sums, squares = org.item_sum[i].sum(axis=2), org.item_sumsq[i].sum(axis=2)
        for j in range(sums.shape[0]):
            items[f"{p}.{j + 1}"] = (p, [(m - 1.0) / scale * 100 for m in _mean(sums[j], emp_n)])
        rwg[p] = RwgInput(
            [[int(n)] * sums.shape[0] for n in emp_n],
            sums.T.tolist(),
            squares.T.tolist(),
            org.scale_points,
        )
    total, squares = org.customer_sum.sum(axis=1), org.customer_sumsq.sum(axis=1)
    raw_sum = total / 100 * scale + cus_n
    raw_sq = squares / 100**2 * scale**2 + 2 * total / 100 * scale + cus_n
    rwg[OUTCOME] = RwgInput(
        [[int(n)] for n in cus_n], [[float(v)] for v in raw_sum], [[float(v)] for v in raw_sq], 5
    )
    covariates = {UNIT_SIZE: [math.log(n) if n > 0 else math.nan for n in emp_n]}
    if WORKLOAD in scenario.covariates:
        covariates[WORKLOAD] = x[WORKLOAD]
    by_period = {
        p: period_sums(org.employee_n, org.score_sum[i], org.score_sumsq[i])
        for i, p in enumerate(PREDICTORS)
        if p in scenario.predictors
    }
    by_period[OUTCOME] = period_sums(org.customer_n, org.customer_sum, org.customer_sumsq)
    return UnitTable(
        units=units,
        names={u: u for u in units},
        outcome=OUTCOME,
        predictors=list(scenario.predictors),
        x=x,
        n_x={p: [int(n) for n in emp_n] for p in PREDICTORS},
        y=_mean(total, cus_n),
        n_y=[int(n) for n in cus_n],
        items=items,
        covariates={c: covariates[c] for c in scenario.covariates if c in covariates},
        panel=_panel(org, units, scenario.predictors),
        period_sums=by_period,
        rwg_inputs={c: rwg[c] for c in [*scenario.predictors, OUTCOME]},
        nps_counts=None,
        top2=(int(org.customer_top2.sum()), int(cus_n.sum())),
        outcome_totals=(int(cus_n.sum()), float(total.sum()), float(squares.sum())),
        outcome_sums=UnitSums([int(n) for n in cus_n], total.tolist(), squares.tolist()),
        max_lag=scenario.max_lag,
    )


@dataclass(frozen=True)
class Reading:
    """What a leader takes from one replicate's verdict."""

    level: str
    claims_link: bool  # the expected link: "supported" or "weak"
    treatment_first: bool
    customers_first: bool
    names_adjusted: bool
    gate_wording: bool
    error: str = ""

    def wrong_direction(self, truth: str) -> bool:
        """A direction the truth contradicts: treatment first under any truth but a
        leading one; customers first under a leading truth."""
        if truth == "treatment":
            return self.customers_first
        return self.treatment_first


def read(body: ReportBody) -> Reading:
    text = body.verdict.text
    lowered = text.lower()
    return Reading(
        level=body.verdict.level,
        claims_link=body.verdict.level in CLAIMS,
        treatment_first=TREATMENT_FIRST in lowered,
        customers_first=CUSTOMERS_FIRST in lowered,
        names_adjusted="adjusting for" in lowered,
        gate_wording=GATE.lower() in lowered,
    )


def replicate(scenario: Scenario, seed: int, resamples: int = 200) -> Reading:
    """One simulated organisation through the report builder; an exception is recorded, so
    a crash counts against the scenario instead of stopping the run."""
    try:
        org = simulate_organisation(scenario.design, random_state=seed)
        return read(analyse(unit_table(org, scenario), options_for(seed, resamples)))
    except Exception as error:
        return Reading(
            "error", False, False, False, False, False, f"{type(error).__name__}: {error}"
        )


@dataclass(frozen=True)
class Summary:
    scenario: str
    replicates: int
    claim_rate: float
    wrong_direction_rate: float
    mc_se: float  # Monte-Carlo standard error of the claim rate
    treatment_first_rate: float
    adjusted_named_rate: float
    gate_rate: float
    opposite_rate: float
    weak_rate: float
    claims_without_gate: int
    crashes: int
    errors: list[str] = field(default_factory=list)

    @property
    def claim_upper(self) -> float:
        """Upper 95 % Monte-Carlo bound of the claim rate (normal approximation)."""
        return self.claim_rate + 1.96 * self.mc_se

    def line(self) -> str:
        return (
            f"scenario {self.scenario}: claim_rate={self.claim_rate:.4f} "
            f"wrong_direction_rate={self.wrong_direction_rate:.4f} mc_se={self.mc_se:.4f} "
            f"replicates={self.replicates}"
        )


def summarise(scenario: Scenario, readings: Sequence[Reading]) -> Summary:
    n = len(readings)
    rate = sum(r.claims_link for r in readings) / n
    return Summary(
        scenario=scenario.name,
        replicates=n,
        claim_rate=rate,
        wrong_direction_rate=sum(r.wrong_direction(scenario.truth) for r in readings) / n,
        mc_se=math.sqrt(rate * (1 - rate) / n),
        treatment_first_rate=sum(r.treatment_first for r in readings) / n,
        adjusted_named_rate=sum(r.names_adjusted for r in readings) / n,
        gate_rate=sum(r.gate_wording for r in readings) / n,
        opposite_rate=sum(r.level == OPPOSITE for r in readings) / n,
        weak_rate=sum(r.level == "weak" for r in readings) / n,
        claims_without_gate=sum(r.claims_link and not r.gate_wording for r in readings),
        crashes=sum(bool(r.error) for r in readings),
        errors=sorted({r.error for r in readings if r.error})[:5],
    )


def with_design(scenario: Scenario, **changes: object) -> Scenario:
    """The scenario with some design parameters changed (smaller tests)."""
    return replace(scenario, design=replace(scenario.design, **changes))  # type: ignore[arg-type]
