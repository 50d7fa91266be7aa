"""The linkage report (DESIGN §6), pure: a unit table in, a ``LinkageReport`` out.

Every statistic is a ``pulse_stats`` call on the unit table (one row per released analysis
unit) or on the (unit, period) panel; nothing here touches respondents, so a report costs
O(units x periods). A section that cannot be computed (too few units, no variation...) is left
empty and the reason is added to the verdict's caveats.

Verdict (plain words, never causal):
* ``not_enough_data``: fewer than ``MIN_UNITS`` released units; no statement on direction.
* ``supported``: for some predictor the interval excludes 0 on the positive side, its
  driver q-value (BH) is below 0.05 and the lag pattern does not contradict it (lag +1
  correlation not <= 0, forward cross-lagged interval not wholly below 0).
* ``weak``: a positive association that misses one of those (or p < 0.10).
* ``no_evidence``: otherwise (including a clearly negative association, which is stated).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
import pulse_stats
from pulse.correlation.v1 import correlation_service_pb2 as pb

from pulse_correlation.domain import TREATMENT_PREFIX, is_nps_construct

MIN_UNITS = 10
ICC1_MIN = 0.05
ICC2_MIN = 0.70
RWG_MIN = 0.70
Q_MAX = 0.05

T = TypeVar("T")
Method = Literal["pearson", "spearman", "kendall"]


@dataclass(frozen=True)
class PanelRow:
    unit_id: str
    period: str
    period_index: int
    x: dict[str, float]  # predictor construct -> mean (cells with n >= k only)
    y: float


@dataclass(frozen=True)
class RwgInput:
    """Per released unit (rows) and item (columns): answers, sum and sum of squares."""

    n: list[list[int]]
    sums: list[list[float]]
    sumsq: list[list[float]]
    n_options: int


@dataclass
class UnitTable:
    """Released analysis units and everything the report needs about them, aligned by index."""

    units: list[str]
    names: dict[str, str]
    outcome: str
    predictors: list[str]
    x: dict[str, list[float]]  # employee construct -> value per unit (0-100)
    n_x: dict[str, list[int]]
    y: list[float]
    n_y: list[int]
    items: dict[str, tuple[str, list[float]]]  # treatment item -> (construct, value per unit)
    covariates: dict[str, list[float]]
    panel: list[PanelRow]
    icc_inputs: dict[str, tuple[list[int], list[float], list[float]]]
    rwg_inputs: dict[str, RwgInput]
    nps_counts: tuple[int, int, int] | None
    top2: tuple[int, int] | None
    outcome_totals: tuple[int, float, float] | None  # n, sum, sum of squares (0-100 scale)
    max_lag: int = 0
    suppressions: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Options:
    bootstrap_resamples: int
    permutation_resamples: int
    confidence_level: float
    method: Method
    random_seed: int


class _Notes:
    def __init__(self, notes: list[str]) -> None:
        self.notes = notes

    def attempt(self, label: str, call: Callable[[], T]) -> T | None:
        try:
            return call()
        except (ValueError, np.linalg.LinAlgError, FloatingPointError) as error:
            self.notes.append(f"{label} not computed: {error}")
            return None


def _finite(value: float) -> float:
    return float(value) if math.isfinite(value) else 0.0


def estimate_pb(result: pulse_stats.CorrelationResult | None) -> pb.Estimate | None:
    if result is None:
        return None
    return pb.Estimate(
        method=result.method,
        r=_finite(result.r),
        p_value=_finite(result.p_value),
        ci_low=_finite(result.ci_low),
        ci_high=_finite(result.ci_high),
        n=result.n,
    )


def _fmt(value: float) -> str:
    return f"{value:.2f}"


def build_report(table: UnitTable, options: Options) -> pb.LinkageReport:
    notes = _Notes(table.notes)
    level = options.confidence_level
    report = pb.LinkageReport(
        outcome=table.outcome,
        predictors=table.predictors,
        units_reported=len(table.units),
        units_suppressed=len({u for u, _ in table.suppressions}),
    )
    report.suppressions.extend(pb.Suppression(unit_id=u, reason=r) for u, r in table.suppressions)
    y = np.asarray(table.y, dtype=float)

    # Aggregation diagnostics first: ICC(2) feeds the disattenuated estimate.
    icc2: dict[str, float] = {}
    for construct in [*table.predictors, table.outcome]:
        diag = _diagnostic(construct, table, notes)
        if diag is not None:
            report.diagnostics.append(diag)
            icc2[construct] = diag.icc2

    # Drivers: every treatment construct and item against the outcome, BH q-values.
    driver_rows: list[tuple[str, str, pulse_stats.CorrelationResult]] = []
    driver_constructs = sorted(c for c in table.x if c.startswith(TREATMENT_PREFIX))
    for construct in driver_constructs:
        res = notes.attempt(
            f"driver {construct}",
            lambda c=construct: pulse_stats.correlation(  # type: ignore[misc]
                table.x[c], y, options.method, level
            ),
        )
        if res is not None:
            driver_rows.append((construct, "construct", res))
    for item_id, (_, values) in sorted(table.items.items()):
        res = notes.attempt(
            f"driver {item_id}",
            lambda v=values: pulse_stats.correlation(v, y, options.method, level),  # type: ignore[misc]
        )
        if res is not None:
            driver_rows.append((item_id, "item", res))
    q_values: dict[str, float] = {}
    if driver_rows:
        qs = pulse_stats.fdr([_p(r.p_value) for _, _, r in driver_rows])
        for (name, lvl, res), q in zip(driver_rows, qs, strict=True):
            q_values[name] = float(q)
            report.drivers.append(
                pb.Driver(name=name, level=lvl, estimate=estimate_pb(res), q_value=_finite(q))
            )

    for predictor in table.predictors:
        report.linkages.append(_linkage(predictor, table, options, icc2, notes))
    _customer_metrics(report, table, level)
    report.verdict.CopyFrom(_verdict(report, table, q_values, options))
    return report


def _p(p: float) -> float:
    return p if math.isfinite(p) else float("nan")


def _diagnostic(construct: str, table: UnitTable, notes: _Notes) -> pb.Diagnostic | None:
    inputs = table.icc_inputs.get(construct)
    if inputs is None:
        return None
    diag = pb.Diagnostic(construct=construct)
    icc = notes.attempt(f"ICC for {construct}", lambda: pulse_stats.icc_from_summaries(*inputs))
    if icc is not None:
        diag.icc1, diag.icc2 = _finite(icc.icc1), _finite(icc.icc2)
        diag.n_groups, diag.mean_group_size = icc.n_groups, _finite(icc.mean_group_size)
        if icc.icc1 < ICC1_MIN:
            diag.warnings.append(
                f"ICC(1) = {icc.icc1:.3f} < {ICC1_MIN}: little of the variance lies between "
                "units, so unit means may not represent a shared unit property (Bliese 2000)"
            )
        if icc.icc2 < ICC2_MIN:
            diag.warnings.append(
                f"ICC(2) = {icc.icc2:.3f} < {ICC2_MIN}: unit means are unreliable, which "
                "attenuates unit-level correlations (Bliese 2000; LeBreton & Senter 2008)"
            )
    rwg_input = table.rwg_inputs.get(construct)
    if rwg_input is not None and rwg_input.n:
        rwg = notes.attempt(
            f"rwg(j) for {construct}",
            lambda: pulse_stats.rwg_j_from_summaries(
                rwg_input.n, rwg_input.sums, rwg_input.sumsq, rwg_input.n_options
            ),
        )
        if rwg is not None:
            diag.rwg_j_mean, diag.rwg_j_median = _finite(rwg.mean), _finite(rwg.median)
            if rwg.mean < RWG_MIN:
                diag.warnings.append(
                    f"mean rwg(j) = {rwg.mean:.2f} < {RWG_MIN}: weak within-unit agreement "
                    "(LeBreton & Senter 2008)"
                )
    return diag


def _linkage(
    predictor: str,
    table: UnitTable,
    options: Options,
    icc2: dict[str, float],
    notes: _Notes,
) -> pb.PredictorLinkage:
    level = options.confidence_level
    x = np.asarray(table.x[predictor], dtype=float)
    y = np.asarray(table.y, dtype=float)
    link = pb.PredictorLinkage(predictor=predictor)
    for unit, xv, yv, nx, ny in zip(
        table.units, table.x[predictor], table.y, table.n_x[predictor], table.n_y, strict=True
    ):
        link.points.append(
            pb.UnitPoint(
                unit_id=unit,
                unit_name=table.names.get(unit, unit),
                predictor=xv,
                outcome=yv,
                n_employees=nx,
                n_customers=ny,
            )
        )
    pearson = notes.attempt(
        f"{predictor}: Pearson", lambda: pulse_stats.correlation(x, y, "pearson", level)
    )
    spearman = notes.attempt(
        f"{predictor}: Spearman", lambda: pulse_stats.correlation(x, y, "spearman", level)
    )
    _set(link, "pearson", estimate_pb(pearson))
    _set(link, "spearman", estimate_pb(spearman))
    if options.bootstrap_resamples > 0:
        boot = notes.attempt(
            f"{predictor}: bootstrap",
            lambda: pulse_stats.bootstrap_correlation(
                x, y, options.method, options.bootstrap_resamples, level, options.random_seed
            ),
        )
        _set(link, "bootstrap", estimate_pb(boot))
    if options.permutation_resamples > 0:
        perm = notes.attempt(
            f"{predictor}: permutation",
            lambda: pulse_stats.permutation_correlation(
                x,
                y,
                options.method,
                options.permutation_resamples,
                options.random_seed,
                level,
            ),
        )
        _set(link, "permutation", estimate_pb(perm))
    rel_x, rel_y = icc2.get(predictor), icc2.get(table.outcome)
    if pearson is not None and rel_x is not None and rel_y is not None:
        if 0 < rel_x <= 1 and 0 < rel_y <= 1:
            link.disattenuated_r = pulse_stats.disattenuated(pearson.r, rel_x, rel_y)
        else:
            notes.notes.append(f"{predictor}: disattenuated r not computed (ICC(2) not in (0, 1])")
    rows = [row for row in table.panel if predictor in row.x]
    if rows:
        subject = [r.unit_id for r in rows]
        px = [r.x[predictor] for r in rows]
        py = [r.y for r in rows]
        periods = [r.period_index for r in rows]
        rm = notes.attempt(
            f"{predictor}: repeated-measures correlation",
            lambda: pulse_stats.repeated_measures_correlation(subject, px, py, level),
        )
        _set(link, "repeated_measures", estimate_pb(rm))
        max_lag = table.max_lag
        lags = notes.attempt(
            f"{predictor}: lagged correlations",
            lambda: pulse_stats.lagged_correlations(
                subject, periods, px, py, max_lag, options.method, level
            ),
        )
        for lag in lags or ():
            link.lags.append(pb.LagEstimate(lag=lag.lag, estimate=estimate_pb(lag)))
        if max_lag >= 1:
            cl = notes.attempt(
                f"{predictor}: cross-lagged estimates",
                lambda: pulse_stats.cross_lagged(subject, periods, px, py, level),
            )
            if cl is not None:
                for path, coef in (
                    ("predictor->outcome", cl.predictor_to_outcome),
                    ("outcome->predictor", cl.outcome_to_predictor),
                ):
                    link.cross_lagged.append(
                        pb.CrossLaggedCoefficient(
                            path=path,
                            estimate=_finite(coef.estimate),
                            std_error=_finite(coef.se),
                            ci_low=_finite(coef.ci_low),
                            ci_high=_finite(coef.ci_high),
                            p_value=_finite(coef.p_value),
                            n=coef.n,
                        )
                    )
    partial_method: Literal["pearson", "spearman"] = (
        "pearson" if options.method == "pearson" else "spearman"
    )
    names = list(table.covariates)
    sets = [[name] for name in names] + ([names] if len(names) > 1 else [])
    for chosen in sets:
        matrix = np.column_stack([table.covariates[c] for c in chosen])
        part = notes.attempt(
            f"{predictor}: partial correlation controlling {', '.join(chosen)}",
            lambda m=matrix: pulse_stats.partial_correlation(  # type: ignore[misc]
                x, y, m, partial_method, level
            ),
        )
        if part is not None:
            link.partials.append(pb.PartialEstimate(covariates=chosen, estimate=estimate_pb(part)))
    if pearson is not None and 0 < abs(pearson.r) < 1:
        link.units_needed = pulse_stats.units_needed(pearson.r, 1 - level)
    return link


def _set(message: Any, name: str, value: Any) -> None:
    if value is not None:
        getattr(message, name).CopyFrom(value)


def _customer_metrics(report: pb.LinkageReport, table: UnitTable, level: float) -> None:
    if table.nps_counts is not None and sum(table.nps_counts) > 0:
        result = pulse_stats.nps_from_counts(*table.nps_counts, confidence_level=level)
        report.customer_metrics.append(
            pb.CustomerMetric(
                metric="nps",
                value=result.nps,
                ci_low=result.ci_low,
                ci_high=result.ci_high,
                n=result.n,
                std_error=result.se,
            )
        )
    if table.top2 is not None and table.top2[1] > 0:
        share = pulse_stats.wilson_interval(table.top2[0], table.top2[1], level)
        se = math.sqrt(share.p * (1 - share.p) / share.n)
        report.customer_metrics.append(
            pb.CustomerMetric(
                metric="top2box",
                value=share.p,
                ci_low=share.ci_low,
                ci_high=share.ci_high,
                n=share.n,
                std_error=se,
            )
        )
    # An NPS outcome is reported once, as NPS above; its 0-100 item mean under the same
    # metric name would be a second, different "nps".
    if (
        table.outcome_totals is not None
        and table.outcome_totals[0] >= 2
        and not is_nps_construct(table.outcome)
    ):
        from pulse_correlation.access import mean_interval

        n, total, squares = table.outcome_totals
        mean, low, high, se = mean_interval(n, total, squares, level)
        report.customer_metrics.append(
            pb.CustomerMetric(
                metric=table.outcome,
                value=mean,
                ci_low=_finite(low),
                ci_high=_finite(high),
                n=n,
                std_error=_finite(se),
            )
        )


CAVEATS = (
    "Observational data: an association between units is not evidence that one causes the "
    "other; unmeasured differences between units (location, workload, customers) can drive both.",
    "Unit-level (ecological) inference: a correlation between unit means says nothing about "
    "how any individual employee or customer feels.",
    "A lag pattern in which treatment moves first is consistent with, but does not prove, "
    "treatment leading customer outcomes.",
)


def _verdict(
    report: pb.LinkageReport, table: UnitTable, q_values: dict[str, float], options: Options
) -> pb.Verdict:
    verdict = pb.Verdict()
    verdict.caveats.extend(CAVEATS)
    for diag in report.diagnostics:
        verdict.caveats.extend(f"{diag.construct}: {w}" for w in diag.warnings)
    if report.units_suppressed:
        verdict.caveats.append(
            f"{report.units_suppressed} unit(s) were rolled up or suppressed to protect "
            "confidentiality (see suppressions)."
        )
    verdict.caveats.extend(table.notes)
    n = len(table.units)
    pct = f"{options.confidence_level * 100:g}%"
    if n < MIN_UNITS:
        verdict.level = "not_enough_data"
        needed = [lk.units_needed for lk in report.linkages if lk.units_needed > 0]
        text = (
            f"Not enough data: only {n} unit(s) in scope had enough employee and customer "
            f"responses to be released, and at least {MIN_UNITS} are needed before Pulse "
            f"states whether {', '.join(table.predictors) or 'treatment'} and {table.outcome} "
            "move together. No statement about the direction or strength of the link is made."
        )
        if needed:
            text += (
                f" To detect a correlation of the size seen so far with 80% power, about "
                f"{max(needed)} units would be needed."
            )
        verdict.text = text
        return verdict
    ranked: list[tuple[int, str, pb.PredictorLinkage, str]] = []
    for link in report.linkages:
        main = link.pearson if options.method == "pearson" else link.spearman
        if not link.HasField("pearson") and not link.HasField("spearman"):
            continue
        q = q_values.get(link.predictor, math.nan)
        lag1 = next((lg.estimate for lg in link.lags if lg.lag == 1), None)
        forward = next((c for c in link.cross_lagged if c.path == "predictor->outcome"), None)
        contradicted = (lag1 is not None and lag1.n >= 4 and lag1.r <= 0) or (
            forward is not None and forward.ci_high < 0
        )
        lag_word = (
            "not assessed"
            if lag1 is None and forward is None
            else ("contradicts" if contradicted else "is consistent with")
        )
        q_text = f", q = {_fmt(q)}" if math.isfinite(q) else ""
        summary = (
            f"{link.predictor}: r = {_fmt(main.r)} ({pct} CI {_fmt(main.ci_low)} to "
            f"{_fmt(main.ci_high)}, n = {main.n} units{q_text})"
        )
        if main.ci_low > 0 and math.isfinite(q) and q < Q_MAX and not contradicted:
            score, word = 3, "supported"
            detail = (
                f"{summary}. Units where employees report better {link.predictor} also have "
                f"higher {table.outcome}; the lag pattern {lag_word} treatment moving first."
            )
        elif main.ci_low > 0 or (main.r > 0 and main.p_value < 0.10):
            score, word = 2, "weak"
            detail = (
                f"{summary}. A positive association, but not a firm one (interval, "
                f"multiple-testing q-value or lag pattern fall short); the lag pattern {lag_word}"
                " treatment moving first."
            )
        elif main.ci_high < 0:
            score, word = 1, "no_evidence"
            detail = f"{summary}. The association is negative, opposite to the expected link."
        else:
            score, word = 1, "no_evidence"
            detail = f"{summary}. The interval includes no association."
        ranked.append((score, word, link, detail))
    if not ranked:
        verdict.level = "no_evidence"
        verdict.text = f"No correlation could be computed across the {n} released units."
        return verdict
    ranked.sort(key=lambda item: -item[0])
    verdict.level = ranked[0][1]
    lead = {
        "supported": "The data support a link between how employees are treated and",
        "weak": "There is weak evidence of a link between how employees are treated and",
        "no_evidence": "There is no evidence of a link between how employees are treated and",
    }[verdict.level]
    verdict.text = (
        f"{lead} {table.outcome} across {n} units. "
        + " ".join(detail for _, _, _, detail in ranked)
        + " This is an association between units observed over time, not proof that "
        "treatment causes customer outcomes."
    )
    return verdict
