"""The unit table of a linkage report, pure: one row per released analysis unit (predictor
and outcome values, item values, covariates, diagnostics inputs, scope totals) and the
(unit, period) panel.

Panel cells enter lags, cross-lagged and repeated-measures estimates only when that
period's predictor and outcome each have at least k respondents. An NPS outcome's value is
the NPS of its promoter/passive/detractor counts. r_wg(j) comes from the per-item n, sums and
sums of squares (``pulse_stats.rwg_j_from_summaries``); ICC inputs are kept per period, where
each person answers once."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
from pulse_common.measures import is_nps
from pulse_common.periods import period_index

from pulse_correlation.aggregates import Sums
from pulse_correlation.covariates import covariate_columns
from pulse_correlation.report_data import ReportData
from pulse_correlation.report_item_sums import ItemSums
from pulse_correlation.report_item_sums import item_sums as item_sums_of
from pulse_correlation.report_model import (
    PanelRow,
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
        n_x[construct] = [int(v) for v in unit_cells.of(construct).range_n]
    if is_nps(outcome):
        y = [item_sums.categories[(outcome, u)].nps() for u in units]
    else:
        y = unit_cells.of(outcome).range_means()
    items: dict[str, tuple[str, list[float]]] = {}
    for item_id, construct in sorted(item_sums.treatment_items.items()):
        low, high = item_sums.scale[item_id]
        values = []
        for u in units:
            found = item_sums.by_item[item_id].get(u)
            values.append(
                (found.mean - low) / (high - low) * 100 if found and found.n else math.nan
            )
        items[item_id] = (construct, values)
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
        rwg_inputs[construct] = _rwg_input(
            units, item_sums.rwg[construct], item_sums.rwg_options[construct]
        )

    outcome_totals: tuple[int, float, float] | None = None
    nps_counts: tuple[int, int, int] | None = None
    top2: tuple[int, int] | None = None
    if release.outcome_total:
        outcome_totals = unit_cells.of(outcome).totals()
        cats = Sums()
        for u in units:
            cats.add_sums(item_sums.categories[(outcome, u)])
        if is_nps(outcome):
            nps_counts = (cats.promoters, cats.passives, cats.detractors)
        elif cats.answers:
            top2 = (cats.top2, cats.answers)
    elif units:
        notes.append("scope-level customer metrics withheld (differencing rule)")
    if release.nps_total:
        nps = Sums()
        for u in units:
            nps.add_sums(item_sums.categories[(measures.nps_construct, u)])
        nps_counts = (nps.promoters, nps.passives, nps.detractors)

    return UnitTable(
        units=units,
        names={u: org.name(u) for u in units},
        outcome=outcome,
        predictors=predictors,
        x=x,
        n_x=n_x,
        y=y,
        n_y=[int(v) for v in unit_cells.of(outcome).range_n],
        items=items,
        covariates=covariates,
        panel=_panel(data, release, unit_cells, item_sums),
        period_sums=period_sums,
        rwg_inputs=rwg_inputs,
        nps_counts=nps_counts,
        top2=top2,
        outcome_totals=outcome_totals,
        outcome_sums=_outcome_sums(outcome, units, unit_cells, item_sums),
        max_lag=request.max_lag,
        suppressions=sorted(release.suppressions.items()),
        notes=notes,
    )


def _outcome_sums(
    outcome: str, units: Sequence[str], unit_cells: UnitCells, item_sums: ItemSums
) -> UnitSums:
    """Per unit: respondents, sum and sum of squares of the outcome on the scale of the unit
    value (an NPS outcome codes promoters 100, passives 0, detractors -100, whose mean is the
    NPS)."""
    if not is_nps(outcome):
        s = unit_cells.of(outcome)
        return UnitSums(
            [int(v) for v in s.range_n],
            [float(v) for v in s.range_total],
            [float(v) for v in s.range_squares],
        )
    found = [item_sums.categories[(outcome, u)] for u in units]
    return UnitSums(
        [c.promoters + c.passives + c.detractors for c in found],
        [100.0 * (c.promoters - c.detractors) for c in found],
        [10_000.0 * (c.promoters + c.detractors) for c in found],
    )


def _panel(
    data: ReportData, release: Release, unit_cells: UnitCells, item_sums: ItemSums
) -> list[PanelRow]:
    """Unit-period points whose outcome and at least one predictor reach their k (unit by
    unit, periods in order)."""
    measures = data.measures
    outcome, predictors = measures.outcome, measures.predictors
    k = {c: release.k_of[m] for c, m in measures.by_construct.items()}
    periods = data.periods
    index = [period_index(period) for period in periods]
    out = unit_cells.of(outcome)
    reached = {p: unit_cells.of(p).n >= k[p] for p in predictors}
    means = {p: unit_cells.of(p).means() for p in predictors}
    candidate = out.n >= k[outcome]
    any_x = np.zeros_like(candidate)
    for p in predictors:
        any_x |= reached[p]
    candidate &= any_x
    # As lists: reading numpy scalars one at a time costs more than the rows themselves.
    x_of = {p: means[p].tolist() for p in predictors}
    x_reached = {p: reached[p].tolist() for p in predictors}
    y_of = None if is_nps(outcome) else out.means().tolist()
    rows: list[PanelRow] = []
    units = release.units
    for i, j in np.argwhere(candidate).tolist():
        u, period = units[i], periods[j]
        y = item_sums.period_categories[(u, period)].nps() if y_of is None else y_of[i][j]
        if not math.isfinite(y):
            continue
        xs = {p: x_of[p][i][j] for p in predictors if x_reached[p][i][j]}
        rows.append(PanelRow(u, period, index[j], xs, y))
    return rows


def _rwg_input(
    units: Sequence[str], sums: Mapping[tuple[str, str], Sums], options: Mapping[str, int]
) -> RwgInput:
    """Per released unit and item: answers, sum and sum of squares over the range, for the
    items on the construct's most used scale (r_wg(j) needs one null distribution)."""
    if not options:
        return RwgInput([], [], [], 2)
    answers: Counter[int] = Counter()
    for (_, item_id), s in sums.items():
        answers[options[item_id]] += s.n
    n_options = answers.most_common(1)[0][0]
    items = sorted(i for i, a in options.items() if a == n_options)
    n, total, squares = [], [], []
    for u in units:
        cells = [sums.get((u, i)) for i in items]
        if not any(c is not None and c.n for c in cells):
            continue
        n.append([c.n if c else 0 for c in cells])
        total.append([c.total if c else 0.0 for c in cells])
        squares.append([c.squares if c else 0.0 for c in cells])
    return RwgInput(n, total, squares, n_options)
