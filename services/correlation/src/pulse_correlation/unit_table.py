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
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pulse_common.measures import TREATMENT_PREFIX, is_nps
from pulse_common.periods import period_index

from pulse_correlation.aggregates import Sums
from pulse_correlation.covariates import covariate_columns
from pulse_correlation.report_data import ReportData
from pulse_correlation.report_model import (
    PanelRow,
    ReportRequest,
    RwgInput,
    UnitSums,
    UnitTable,
)
from pulse_correlation.report_release import Release


@dataclass
class _ItemSums:
    """What the item rows of the released units add up to."""

    treatment_items: dict[str, str] = field(default_factory=dict)  # item -> construct
    by_item: dict[str, dict[str, Sums]] = field(default_factory=lambda: defaultdict(dict))
    scale: dict[str, tuple[int, int]] = field(default_factory=dict)
    # construct -> (unit, item) -> sums, and item -> number of answer options (A)
    rwg: dict[str, dict[tuple[str, str], Sums]] = field(default_factory=lambda: defaultdict(dict))
    rwg_options: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    # (construct, unit) and, for the outcome, (unit, period) -> category counts
    categories: dict[tuple[str, str], Sums] = field(default_factory=lambda: defaultdict(Sums))
    period_categories: dict[tuple[str, str], Sums] = field(
        default_factory=lambda: defaultdict(Sums)
    )


def _item_sums(data: ReportData, release: Release) -> _ItemSums:
    measures = data.measures
    rwg_constructs = {*measures.predictors, measures.outcome}
    owner_of = release.owner_of
    found = _ItemSums()
    for i in data.items:
        owner = owner_of.get(data.scope.org.canonical(i.unit_id))
        if owner is None:
            continue
        if i.construct.startswith(TREATMENT_PREFIX):
            found.treatment_items[i.item_id] = i.construct
            found.by_item[i.item_id].setdefault(owner, Sums()).add(i.n, i.sum, i.sumsq)
            found.scale[i.item_id] = (i.scale_min, i.scale_max)
        if i.construct in rwg_constructs:
            found.rwg[i.construct].setdefault((owner, i.item_id), Sums()).add(i.n, i.sum, i.sumsq)
            found.rwg_options[i.construct][i.item_id] = i.scale_max - i.scale_min + 1
        if i.construct in (measures.outcome, measures.nps_construct):
            found.categories[(i.construct, owner)].add_categories(i)
            if i.construct == measures.outcome:
                found.period_categories[(owner, i.period)].add_categories(i)
    return found


class _UnitSums:
    """Sums of a released unit's member cells over the range or one period."""

    def __init__(self, data: ReportData, release: Release) -> None:
        self._data = data
        self._members = release.members
        self._periods = data.periods

    def __call__(self, construct: str, unit: str, only: str | None = None) -> Sums:
        cells = self._data.cells(construct)
        total = Sums()
        for member in self._members[unit]:
            for period in [only] if only else self._periods:
                s = cells.get((member, period))
                if s is not None:
                    total.add(s.n, s.total, s.squares)
        return total


def build_unit_table(data: ReportData, release: Release, request: ReportRequest) -> UnitTable:
    measures, org = data.measures, data.scope.org
    outcome, predictors = measures.outcome, measures.predictors
    units = release.units
    unit_sums = _UnitSums(data, release)
    item_sums = _item_sums(data, release)
    notes = [] if predictors else ["no treatment construct has data in scope"]

    x: dict[str, list[float]] = {}
    n_x: dict[str, list[int]] = {}
    for construct in sorted(data.employee_constructs | set(predictors)):
        x[construct] = [unit_sums(construct, u).mean for u in units]
        n_x[construct] = [unit_sums(construct, u).n for u in units]
    if is_nps(outcome):
        y = [item_sums.categories[(outcome, u)].nps() for u in units]
    else:
        y = [unit_sums(outcome, u).mean for u in units]
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
        per_period = [_sums_of([unit_sums(construct, u, p) for u in units]) for p in data.periods]
        period_sums[construct] = [sums for sums in per_period if sums.n]
        rwg_inputs[construct] = _rwg_input(
            units, item_sums.rwg[construct], item_sums.rwg_options[construct]
        )

    outcome_totals: tuple[int, float, float] | None = None
    nps_counts: tuple[int, int, int] | None = None
    top2: tuple[int, int] | None = None
    if release.outcome_total:
        totals = Sums()
        for u in units:
            s = unit_sums(outcome, u)
            totals.add(s.n, s.total, s.squares)
        outcome_totals = (totals.n, totals.total, totals.squares)
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
        n_y=[unit_sums(outcome, u).n for u in units],
        items=items,
        covariates=covariates,
        panel=_panel(data, release, unit_sums, item_sums),
        period_sums=period_sums,
        rwg_inputs=rwg_inputs,
        nps_counts=nps_counts,
        top2=top2,
        outcome_totals=outcome_totals,
        outcome_sums=_outcome_sums(outcome, units, unit_sums, item_sums),
        max_lag=request.max_lag,
        suppressions=sorted(release.suppressions.items()),
        notes=notes,
    )


def _sums_of(cells: Sequence[Sums]) -> UnitSums:
    """The units with answers among ``cells``, as aligned lists."""
    found = [c for c in cells if c.n]
    return UnitSums([c.n for c in found], [c.total for c in found], [c.squares for c in found])


def _outcome_sums(
    outcome: str, units: Sequence[str], unit_sums: _UnitSums, item_sums: _ItemSums
) -> UnitSums:
    """Per unit: respondents, sum and sum of squares of the outcome on the scale of the unit
    value (an NPS outcome codes promoters 100, passives 0, detractors -100, whose mean is the
    NPS)."""
    if not is_nps(outcome):
        cells = [unit_sums(outcome, u) for u in units]
        return UnitSums([c.n for c in cells], [c.total for c in cells], [c.squares for c in cells])
    found = [item_sums.categories[(outcome, u)] for u in units]
    return UnitSums(
        [c.promoters + c.passives + c.detractors for c in found],
        [100.0 * (c.promoters - c.detractors) for c in found],
        [10_000.0 * (c.promoters + c.detractors) for c in found],
    )


def _panel(
    data: ReportData, release: Release, unit_sums: _UnitSums, item_sums: _ItemSums
) -> list[PanelRow]:
    """Unit-period points whose outcome and at least one predictor reach their k."""
    measures = data.measures
    outcome = measures.outcome
    k = {c: release.k_of[m] for c, m in measures.by_construct.items()}
    rows: list[PanelRow] = []
    for u in release.units:
        for period in data.periods:
            s = unit_sums(outcome, u, period)
            y = item_sums.period_categories[(u, period)].nps() if is_nps(outcome) else s.mean
            if s.n < k[outcome] or not math.isfinite(y):
                continue
            xs = {}
            for p in measures.predictors:
                found = unit_sums(p, u, period)
                if found.n >= k[p]:
                    xs[p] = found.mean
            if xs:
                rows.append(PanelRow(u, period, period_index(period), xs, y))
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
