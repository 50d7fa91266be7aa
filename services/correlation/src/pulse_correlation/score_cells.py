"""Score cells, pure: per unit, period and construct, the numbers of the unit's whole
subtree, released through ``confidentiality.release_hierarchy`` and the viewer's ledger.

Values: constructs 0-100 with a logit interval of the mean that stays inside the scale
(``aggregates.bounded_mean_interval``); NPS constructs (nps, enps) -100..100
with their standard-error interval; ``<construct>.top2box`` cells the share of answers in the
top two boxes with a Wilson interval (customer and internal constructs only). Each measure
is released under ``confidentiality.effective_k``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

import pulse_stats
from pulse_common.measures import EMPLOYEE, is_nps

from pulse_correlation.access import Scope
from pulse_correlation.aggregates import (
    ConstructRow,
    ItemRow,
    Sums,
    bounded_mean_interval,
    measure_key,
)
from pulse_correlation.confidentiality import ROLLED_UP, Ledger, cell_id, release_hierarchy
from pulse_correlation.org import ORG_ROOT
from pulse_correlation.values import as_sent

TOP2 = ".top2box"


@dataclass(frozen=True)
class Cell:
    """One score cell; field names are those of ``pb.ScoreCell``."""

    unit_id: str
    unit_name: str
    period: str
    construct: str
    n: int = 0
    value: float = 0.0
    ci_low: float = 0.0
    ci_high: float = 0.0
    suppressed: bool = False
    suppression_reason: str = ""
    rolled_up: bool = False


def base_constructs(requested: Iterable[str]) -> list[str] | None:
    """The stored constructs a request reads (None: all of them)."""
    wanted = set(requested)
    return sorted({c.removesuffix(TOP2) for c in wanted}) if wanted else None


@dataclass
class CellSums:
    """Per (period, construct): the sums of every in-scope unit's own cell, and the
    population each construct belongs to."""

    by_measure: dict[tuple[str, str], dict[str, Sums]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    population: dict[str, str] = field(default_factory=dict)

    @property
    def measures(self) -> set[str]:
        return {measure_key(p, c) for c, p in self.population.items()}

    def add_constructs(self, rows: Iterable[ConstructRow], scope: Scope) -> None:
        in_scope = scope.units()
        for r in rows:
            unit = scope.org.canonical(r.unit_id)
            if unit not in in_scope:
                continue
            self.population[r.construct] = r.population
            cell = self.by_measure[(r.period, r.construct)]
            cell.setdefault(cell_id(unit, r.period), Sums()).add(r.n, r.sum, r.sumsq)

    def add_items(self, rows: Iterable[ItemRow], scope: Scope) -> None:
        """Category counts of the cells already present."""
        for i in rows:
            unit = scope.org.canonical(i.unit_id)
            target = self.by_measure.get((i.period, i.construct), {}).get(cell_id(unit, i.period))
            if target is not None:
                target.add_categories(i)


def _cells_for(
    unit: str,
    name: str,
    period: str,
    construct: str,
    population: str,
    sums: Sums,
    emit_mean: bool,
    emit_top2: bool,
    rolled_up: bool,
) -> list[Cell]:
    cells: list[Cell] = []
    if emit_mean:
        if is_nps(construct) and sums.nps_answers:
            result = pulse_stats.nps_from_counts(sums.promoters, sums.passives, sums.detractors)
            n, value, low, high = result.n, result.nps, result.ci_low, result.ci_high
        else:
            value, low, high, _ = bounded_mean_interval(sums.n, sums.total, sums.squares)
            n, low, high = sums.n, as_sent(low), as_sent(high)
        cells.append(Cell(unit, name, period, construct, n, value, low, high, rolled_up=rolled_up))
    if emit_top2 and population != EMPLOYEE and sums.answers:
        share = pulse_stats.wilson_interval(sums.top2, sums.answers)
        cells.append(
            Cell(
                unit,
                name,
                period,
                construct + TOP2,
                share.n,
                share.p,
                share.ci_low,
                share.ci_high,
                rolled_up=rolled_up,
            )
        )
    return cells


def release_cells(
    sums: CellSums,
    scope: Scope,
    ledger: Ledger,
    requested: Sequence[str],
    only_units: Collection[str] | None,
) -> list[Cell]:
    """Released and suppressed cells of every (period, construct); with ``only_units``
    (trends: the scope unit; the dashboard: it and its children) the other units are
    decided but neither released nor ledgered."""
    wanted = set(requested)
    in_scope = scope.units()
    kids = scope.tree.children()
    cells: list[Cell] = []
    for (period, construct), by_cell in sorted(sums.by_measure.items()):
        population = sums.population[construct]
        own = {
            u: {cell_id(u, period): by_cell[cell_id(u, period)].n}
            for u in in_scope
            if cell_id(u, period) in by_cell
        }
        measure = measure_key(population, construct)
        decision = release_hierarchy(
            scope.tree,
            own,
            measure,
            ledger.k_for(measure),
            ledger,
            releasable_root=scope.root != ORG_ROOT,
            release_only=None if only_units is None else set(only_units),
        )
        emit_mean = not wanted or construct in wanted
        emit_top2 = (not wanted and not is_nps(construct)) or (construct + TOP2 in wanted)
        for unit, group in sorted(decision.released.items()):
            total = Sums()
            for cell in group.counts:
                total.add_sums(by_cell[cell])
            rolled = any(decision.reasons.get(child) == ROLLED_UP + unit for child in kids[unit])
            cells += _cells_for(
                unit,
                scope.org.name(unit),
                period,
                construct,
                population,
                total,
                emit_mean,
                emit_top2,
                rolled,
            )
        names = ([construct] if emit_mean else []) + (
            [construct + TOP2] if emit_top2 and population != EMPLOYEE else []
        )
        for unit, reason in sorted(decision.reasons.items()):
            if only_units is not None and unit not in only_units:
                continue
            cells += [
                Cell(
                    unit,
                    scope.org.name(unit),
                    period,
                    name,
                    suppressed=True,
                    suppression_reason=reason,
                )
                for name in names
            ]
    if only_units is not None:
        cells = [c for c in cells if c.unit_id in only_units]
    return sorted(cells, key=lambda c: (c.period, c.unit_id, c.construct))
