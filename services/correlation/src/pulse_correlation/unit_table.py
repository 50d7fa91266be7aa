"""The unit table of a linkage report, pure: one row per released analysis unit (predictor
and outcome values, item values, covariates, diagnostics inputs, scope totals) and the
(unit, period) panel, from arrays (issue 20: no Python object per unit and period).

Panel cells enter lags, cross-lagged and repeated-measures estimates only when that
period's predictor and outcome each have at least k respondents. An NPS outcome's value is
the NPS of its promoter/passive/detractor counts. r_wg(j) comes from the per-item n, sums and
sums of squares (``pulse_stats.rwg_j_from_summaries``); ICC inputs are kept per period, where
each person answers once."""

from __future__ import annotations

import numpy as np
from pulse_common.measures import TREATMENT_PREFIX, is_nps
from pulse_common.periods import period_index

from pulse_correlation.covariates import covariate_columns
from pulse_correlation.report_cells import Floats
from pulse_correlation.report_data import ReportData
from pulse_correlation.report_item_sums import Categories, ConstructSums, ItemSums
from pulse_correlation.report_item_sums import item_sums as item_sums_of
from pulse_correlation.report_model import (
    Panel,
    ReportRequest,
    RwgInput,
    UnitSums,
    UnitTable,
)
from pulse_correlation.report_release import Release
from pulse_correlation.report_unit_sums import UnitCells


def build_unit_table(data: ReportData, release: Release, request: ReportRequest) -> UnitTable:
    measures, org = data.measures, data.scope.org
    outcome, predictors = measures.outcome, measures.predictors
    units = release.units
    unit_cells = UnitCells(data.cell_arrays, units, release.members)
    item_sums = item_sums_of(data, release)
    notes = [] if predictors else ["no treatment construct has data in scope"]

    x: dict[str, list[float]] = {}
    n_x: dict[str, list[int]] = {}
    for construct in sorted(data.employee_constructs | set(predictors)):
        x[construct] = unit_cells.of(construct).range_means()
        n_x[construct] = unit_cells.of(construct).range_n.tolist()
    if is_nps(outcome):
        y = item_sums.categories_of(outcome).nps().tolist()
    else:
        y = unit_cells.of(outcome).range_means()
    covariates, covariate_notes = covariate_columns(
        request.covariates,
        units,
        x,
        n_x,
        predictors,
        org,
        data.channels,
        release.owner_of,
    )
    notes += covariate_notes

    period_sums: dict[str, list[UnitSums]] = {}
    rwg_inputs: dict[str, RwgInput] = {}
    for construct in [*predictors, outcome]:
        period_sums[construct] = unit_cells.of(construct).period_sums()
        rwg_inputs[construct] = _rwg_input(item_sums.sums.get(construct), item_sums.item_ids)

    outcome_totals: tuple[int, float, float] | None = None
    nps_counts: tuple[int, int, int] | None = None
    top2: tuple[int, int] | None = None
    if release.outcome_total:
        outcome_totals = unit_cells.of(outcome).totals()
        cats = item_sums.categories_of(outcome)
        answers = int(cats.answers.sum())
        if is_nps(outcome):
            nps_counts = _nps_counts(cats)
        elif answers:
            top2 = (int(cats.top2.sum()), answers)
    elif units:
        notes.append("scope-level customer metrics withheld (differencing rule)")
    if release.nps_total:
        nps_counts = _nps_counts(item_sums.categories_of(measures.nps_construct))

    return UnitTable(
        units=units,
        names={u: org.name(u) for u in units},
        outcome=outcome,
        predictors=predictors,
        x=x,
        n_x=n_x,
        y=y,
        n_y=unit_cells.of(outcome).range_n.tolist(),
        items=_items(item_sums),
        covariates=covariates,
        panel=_panel(data, release, unit_cells, item_sums),
        period_sums=period_sums,
        rwg_inputs=rwg_inputs,
        nps_counts=nps_counts,
        top2=top2,
        outcome_totals=outcome_totals,
        outcome_sums=_outcome_sums(outcome, unit_cells, item_sums),
        max_lag=request.max_lag,
        suppressions=sorted(release.suppressions.items()),
        notes=notes,
    )


def _nps_counts(cats: Categories) -> tuple[int, int, int]:
    return int(cats.promoters.sum()), int(cats.passives.sum()), int(cats.detractors.sum())


def _items(item_sums: ItemSums) -> dict[str, tuple[str, list[float]]]:
    """Per treatment item (in id order): its construct and its mean per unit on 0-100
    (NaN without answers)."""
    where: dict[str, tuple[str, int]] = {}
    for construct, sums in item_sums.sums.items():
        if construct.startswith(TREATMENT_PREFIX):
            for i in np.flatnonzero(sums.present).tolist():
                where[item_sums.item_ids[i]] = (construct, i)
    items: dict[str, tuple[str, list[float]]] = {}
    for item_id, (construct, i) in sorted(where.items()):
        s = item_sums.sums[construct]
        n, low, high = s.n[:, i], int(s.low[i]), int(s.high[i])
        with np.errstate(invalid="ignore", divide="ignore"):
            # As one by one: (mean - low) / (high - low) * 100.
            value = (s.total[:, i] / n - low) / (high - low) * 100
        items[item_id] = (construct, np.where(n != 0, value, np.nan).tolist())
    return items


def _outcome_sums(outcome: str, unit_cells: UnitCells, item_sums: ItemSums) -> UnitSums:
    """Per unit: respondents, sum and sum of squares of the outcome on the scale of the unit
    value (an NPS outcome codes promoters 100, passives 0, detractors -100, whose mean is the
    NPS)."""
    if not is_nps(outcome):
        s = unit_cells.of(outcome)
        return UnitSums(s.range_n.tolist(), s.range_total.tolist(), s.range_squares.tolist())
    c = item_sums.categories_of(outcome)
    return UnitSums(
        (c.promoters + c.passives + c.detractors).tolist(),
        (100.0 * (c.promoters - c.detractors)).tolist(),
        (10_000.0 * (c.promoters + c.detractors)).tolist(),
    )


def _panel(data: ReportData, release: Release, unit_cells: UnitCells, item_sums: ItemSums) -> Panel:
    """Unit-period points whose outcome and at least one predictor reach their k (unit by
    unit, periods in order)."""
    measures = data.measures
    outcome, predictors = measures.outcome, measures.predictors
    k = {c: release.k_of[m] for c, m in measures.by_construct.items()}
    periods = data.periods
    units = release.units
    out = unit_cells.of(outcome)
    reached = {p: unit_cells.of(p).n >= k[p] for p in predictors}
    candidate = out.n >= k[outcome]
    any_x = np.zeros_like(candidate)
    for p in predictors:
        any_x |= reached[p]
    candidate &= any_x
    y = _period_nps(item_sums, periods, len(units)) if is_nps(outcome) else out.means()
    keep = candidate & np.isfinite(y)
    unit, period = np.nonzero(keep)  # row-major: unit by unit, periods in order
    index = np.array([period_index(p) for p in periods], dtype=np.int64)
    return Panel(
        units=list(units),
        periods=list(periods),
        unit=unit.astype(np.intp),
        period=period.astype(np.intp),
        period_index=index[period],
        y=y[keep],
        x={p: unit_cells.of(p).means()[keep] for p in predictors},
        reached={p: reached[p][keep] for p in predictors},
    )


def _period_nps(item_sums: ItemSums, periods: list[str], units: int) -> Floats:
    """The outcome's NPS per unit (rows) and report period (columns), NaN without answers."""
    found = np.full((units, len(periods)), np.nan)
    by_period = item_sums.period_categories
    if by_period is None:
        return found
    column = {p: j for j, p in enumerate(item_sums.periods)}
    at = [(j, column[p]) for j, p in enumerate(periods) if p in column]
    if at:
        mine, theirs = (np.array(v, dtype=np.intp) for v in zip(*at, strict=True))
        found[:, mine] = by_period.nps()[:, theirs]
    return found


def _rwg_input(sums: ConstructSums | None, item_ids: list[str]) -> RwgInput:
    """Per released unit with answers and item: answers, sum and sum of squares over the
    range, for the items on the construct's most used scale (r_wg(j) needs one null
    distribution; a tie goes to the scale whose items appear first)."""
    if sums is None or not sums.present.any():
        return RwgInput([], [], [], 2)
    options, answered = sums.options, sums.n.sum(axis=0)
    present = np.flatnonzero(sums.present)
    scales = sorted(
        {int(v) for v in options[present]},
        key=lambda v: (
            -int(answered[present][options[present] == v].sum()),
            int(sums.first[present][options[present] == v].min()),
        ),
    )
    n_options = scales[0]
    chosen = sorted(present[options[present] == n_options].tolist(), key=item_ids.__getitem__)
    n = sums.n[:, chosen]
    rows = (n != 0).any(axis=1)
    return RwgInput(n[rows], sums.total[:, chosen][rows], sums.squares[:, chosen][rows], n_options)
