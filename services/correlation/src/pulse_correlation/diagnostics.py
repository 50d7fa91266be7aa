"""Aggregation diagnostics of a construct, pure: do unit means represent a shared unit
property? ICC(1), ICC(2) from the unit sums (Bliese 2000) and r_wg(j) from the per-item
sums (LeBreton & Senter 2008), each with a warning below its usual threshold."""

from __future__ import annotations

import pulse_stats

from pulse_correlation.attempts import Attempts
from pulse_correlation.report_model import Diagnostic, UnitTable
from pulse_correlation.values import as_sent

ICC1_MIN = 0.05
ICC2_MIN = 0.70
RWG_MIN = 0.70


def diagnostic(construct: str, table: UnitTable, attempts: Attempts) -> Diagnostic | None:
    """None when no released unit has answers on ``construct``."""
    inputs = table.icc_inputs.get(construct)
    if inputs is None:
        return None
    diag = Diagnostic(construct=construct)
    icc = attempts.attempt(f"ICC for {construct}", lambda: pulse_stats.icc_from_summaries(*inputs))
    if icc is not None:
        diag.icc1, diag.icc2 = as_sent(icc.icc1), as_sent(icc.icc2)
        diag.n_groups, diag.mean_group_size = icc.n_groups, as_sent(icc.mean_group_size)
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
        rwg = attempts.attempt(
            f"rwg(j) for {construct}",
            lambda: pulse_stats.rwg_j_from_summaries(
                rwg_input.n, rwg_input.sums, rwg_input.sumsq, n_options=rwg_input.n_options
            ),
        )
        if rwg is not None:
            diag.rwg_j_mean, diag.rwg_j_median = as_sent(rwg.mean), as_sent(rwg.median)
            if rwg.mean < RWG_MIN:
                diag.warnings.append(
                    f"mean rwg(j) = {rwg.mean:.2f} < {RWG_MIN}: weak within-unit agreement "
                    "(LeBreton & Senter 2008)"
                )
    return diag
