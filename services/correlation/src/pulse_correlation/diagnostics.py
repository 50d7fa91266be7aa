"""Aggregation diagnostics of a construct, pure: do unit means represent a shared unit
property, and how reliable are they? Reliability comes from people, not answers: ICC(1) is
estimated within each period (where each person answers once) and averaged over periods,
and the reliability of the unit means the report correlates counts each unit's distinct
respondents (employees answer again every period; customers are different people).

The reliability gate: a construct whose unit means have a reliability below
``RELIABILITY_GATE`` (or no detectable between-unit variance) is left out of the verdict
("team averages are too unreliable to compare teams")."""

from __future__ import annotations

import math
from statistics import fmean

import pulse_stats
from pulse_common.measures import CUSTOMER, human_name, outcome_population

from pulse_correlation.attempts import Attempts
from pulse_correlation.report_model import Diagnostic, UnitTable
from pulse_correlation.values import reported

ICC1_MIN = 0.05
# Below RELIABILITY_GATE, sampling noise is more than 1.5 times the true differences
# between unit means. The per-period reliability used for employees (the same people
# answer every period) is close to a lower bound for the range mean when unit differences
# are stable, hence a gate below the 0.5 at which noise equals signal.
RELIABILITY_GATE = 0.40
RELIABILITY_WARN = 0.70
RWG_MIN = 0.70


def spearman_brown(icc1: float, k: float) -> float:
    """Reliability of a mean of ``k`` respondents: k ICC(1) / (1 + (k - 1) ICC(1))
    (Spearman 1910; Brown 1910; the ICC(2) of Bliese 2000 for k respondents). Only
    defined for ICC(1) > 0: near the pole of a negative ICC(1) the formula produces
    meaningless values (ICC(2) = -1494 was once printed), so those are not computable."""
    if not math.isfinite(icc1) or icc1 <= 0.0 or k <= 0:
        return math.nan
    return k * icc1 / (1.0 + (k - 1.0) * icc1)


def _persistent(construct: str, table: UnitTable) -> bool:
    """True when the same people answer again every period (employees, internal raters)."""
    return construct != table.outcome or outcome_population(table.outcome) != CUSTOMER


def _per_period(construct: str, table: UnitTable) -> tuple[list[float], list[float], int]:
    """ICC(1) and mean respondents per unit of every period with two units or more."""
    iccs: list[float] = []
    sizes: list[float] = []
    groups = 0
    for sums in table.period_sums.get(construct, []):
        if len(sums.n) < 2:
            continue
        try:
            icc = pulse_stats.icc_from_summaries(sums.n, sums.sums, sums.squares)
        except ValueError:
            continue  # constant answers or no within-unit degrees of freedom this period
        iccs.append(icc.icc1)
        sizes.append(icc.mean_group_size)
        groups = max(groups, icc.n_groups)
    return iccs, sizes, groups


def _reliability(diag: Diagnostic, table: UnitTable) -> None:
    persistent = _persistent(diag.construct, table)
    if persistent or not table.n_y:
        k, who = diag.mean_group_size, "respondents per unit and period (the same people)"
    else:
        k, who = fmean(table.n_y), "respondents per unit over the range (different people)"
    diag.reliability = reported(spearman_brown(diag.icc1, k))
    diag.reliability_basis = f"ICC(1) {diag.icc1:.3f} over {diag.periods} period(s), {k:.1f} {who}"


def _warnings(diag: Diagnostic) -> None:
    name = human_name(diag.construct)
    if not math.isfinite(diag.reliability):
        diag.warnings.append(
            f"{name}: ICC(1) is not above 0 within periods, so units do not differ more than "
            "their respondents do; reliability of unit means is not computable "
            "(Bliese 2000)"
        )
    elif diag.reliability < RELIABILITY_GATE:
        diag.warnings.append(
            f"{name}: unit averages are too unreliable to compare teams (reliability "
            f"{diag.reliability:.2f} < {RELIABILITY_GATE}; {diag.reliability_basis})"
        )
    elif diag.reliability < RELIABILITY_WARN:
        diag.warnings.append(
            f"{name}: unit averages are only moderately reliable (reliability "
            f"{diag.reliability:.2f} < {RELIABILITY_WARN}), which attenuates unit-level "
            "correlations (Bliese 2000; LeBreton & Senter 2008)"
        )
    if math.isfinite(diag.icc1) and 0 < diag.icc1 < ICC1_MIN:
        diag.warnings.append(
            f"{name}: ICC(1) = {diag.icc1:.3f} < {ICC1_MIN}: little of the variance lies "
            "between units (Bliese 2000)"
        )


def diagnostic(construct: str, table: UnitTable, attempts: Attempts) -> Diagnostic | None:
    """None when no released unit has answers on ``construct``."""
    if not table.period_sums.get(construct):
        return None
    diag = Diagnostic(construct=construct)
    iccs, sizes, groups = _per_period(construct, table)
    if iccs:
        diag.icc1, diag.periods = fmean(iccs), len(iccs)
        diag.mean_group_size, diag.n_groups = fmean(sizes), groups
        diag.icc2 = reported(spearman_brown(diag.icc1, diag.mean_group_size))
        _reliability(diag, table)
    else:
        attempts.notes.append(
            f"ICC for {construct} not computed: no period has two units with varied answers"
        )
    _warnings(diag)
    rwg_input = table.rwg_inputs.get(construct)
    if rwg_input is not None and len(rwg_input.n):
        diag.single_item = len(rwg_input.n[0]) == 1
        rwg = attempts.attempt(
            f"rwg(j) for {construct}",
            lambda: pulse_stats.rwg_j_from_summaries(
                rwg_input.n, rwg_input.sums, rwg_input.sumsq, n_options=rwg_input.n_options
            ),
        )
        if rwg is not None:
            diag.rwg_j_mean, diag.rwg_j_median = reported(rwg.mean), reported(rwg.median)
            # One item: agreement on a single rating says little about a shared property,
            # and customers rating their own interactions are not expected to agree.
            if rwg.mean < RWG_MIN and not diag.single_item:
                diag.warnings.append(
                    f"{human_name(construct)}: mean rwg(j) = {rwg.mean:.2f} < {RWG_MIN}: "
                    "weak within-unit agreement (LeBreton & Senter 2008)"
                )
    return diag


def gated(diag: Diagnostic | None) -> bool:
    """True when the construct's unit means are too unreliable to compare teams."""
    return diag is None or not (
        math.isfinite(diag.reliability) and diag.reliability >= RELIABILITY_GATE
    )
