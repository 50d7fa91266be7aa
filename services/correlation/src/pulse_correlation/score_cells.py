"""Score cells, pure: per unit, period and construct, the numbers of the unit's whole
subtree (as the org stood at the period's end), from the period's deterministic release
(``releases.decide``: the same for every viewer, scope and request history).

Values: constructs 0-100 with a logit interval of the mean that stays inside the scale
(``aggregates.bounded_mean_interval``); NPS constructs (nps, enps) -100..100
with their standard-error interval; ``<construct>.top2box`` cells the share of answers in the
top two boxes with a Wilson interval (customer and internal constructs only). Each measure
is released under ``confidentiality.effective_k``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace

import pulse_stats
from pulse_common.measures import EMPLOYEE, is_nps

from pulse_correlation.access import Scope
from pulse_correlation.aggregates import (
    ConstructRow,
    Sums,
    bounded_mean_interval,
)
from pulse_correlation.confidentiality import PERIOD_OPEN, ROLLED_UP
from pulse_correlation.releases import FrozenPeriod, decide, late_counts
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
    # Respondents counted after the period was released, not in n (``releases.late_counts``).
    late_n: int = 0


def base_constructs(requested: Iterable[str]) -> list[str] | None:
    """The stored constructs a request reads (None: all of them)."""
    wanted = set(requested)
    return sorted({c.removesuffix(TOP2) for c in wanted}) if wanted else None


def _sums_of(frozen: FrozenPeriod) -> dict[str, dict[str, Sums]]:
    """construct -> unit (frozen org) -> the unit's own sums, category counts included."""
    found: dict[str, dict[str, Sums]] = defaultdict(dict)
    for r in frozen.rows:
        unit = frozen.org.canonical(r.unit_id)
        found[r.construct].setdefault(unit, Sums()).add(r.n, r.sum, r.sumsq)
    for i in frozen.items:
        target = found.get(i.construct, {}).get(frozen.org.canonical(i.unit_id))
        if target is not None:
            target.add_categories(i)
    return found


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


def _names(construct: str, population: str, wanted: set[str]) -> tuple[bool, bool]:
    """Whether the mean cell and the top-2-box cell of ``construct`` are asked for."""
    emit_mean = not wanted or construct in wanted
    emit_top2 = (not wanted and not is_nps(construct)) or (construct + TOP2 in wanted)
    return emit_mean, emit_top2 and population != EMPLOYEE


def _suppressed(
    unit: str,
    name: str,
    period: str,
    construct: str,
    population: str,
    wanted: set[str],
    reason: str,
) -> list[Cell]:
    emit_mean, emit_top2 = _names(construct, population, wanted)
    names = ([construct] if emit_mean else []) + ([construct + TOP2] if emit_top2 else [])
    return [Cell(unit, name, period, n, suppressed=True, suppression_reason=reason) for n in names]


def period_cells(
    frozen: FrozenPeriod,
    base_k: int,
    scope: Scope,
    wanted: set[str],
    show: set[str],
    live: Iterable[ConstructRow] = (),
) -> tuple[list[Cell], int]:
    """Cells of the units in ``show`` for one released period, from the whole-tree decision
    (the same for every viewer and scope), and the largest k applied. ``live``: the
    period's live rows, for the late arrivals' released counts (``late_n``)."""
    sums = _sums_of(frozen)
    late = late_counts(frozen, live, base_k)
    kids = frozen.tree().children()
    cells: list[Cell] = []
    k_applied = base_k
    for construct, decided in decide(frozen, base_k).items():
        if wanted and construct not in wanted and construct + TOP2 not in wanted:
            continue
        k_applied = max(k_applied, decided.k)
        emit_mean, emit_top2 = _names(construct, decided.population, wanted)
        decision = decided.decision
        for unit, group in sorted(decision.released.items()):
            if unit not in show:
                continue
            total = Sums()
            for member in group.counts:
                total.add_sums(sums[construct][member.rsplit("@", 1)[0]])
            rolled = any(decision.reasons.get(c) == ROLLED_UP + unit for c in kids.get(unit, []))
            late_n = late.get(construct, {}).get(unit, 0)
            cells += _with_late(
                late_n,
                _cells_for(
                    unit,
                    scope.org.name(unit),
                    frozen.period,
                    construct,
                    decided.population,
                    total,
                    emit_mean,
                    emit_top2,
                    rolled,
                ),
            )
        for unit, reason in sorted(decision.reasons.items()):
            if unit in show:
                cells += _suppressed(
                    unit,
                    scope.org.name(unit),
                    frozen.period,
                    construct,
                    decided.population,
                    wanted,
                    reason,
                )
    return cells, k_applied


def _with_late(late_n: int, cells: list[Cell]) -> list[Cell]:
    return [replace(c, late_n=late_n) for c in cells] if late_n else cells


def release_cells(
    frozen: Sequence[FrozenPeriod],
    open_rows: Iterable[ConstructRow],
    scope: Scope,
    base_k: int,
    requested: Sequence[str],
    only_units: Collection[str] | None,
    live_rows: Iterable[ConstructRow] = (),
) -> tuple[list[Cell], int]:
    """Released and suppressed cells of the scope's units (or only ``only_units``: trends,
    the scope unit; the dashboard, it and its children) for every period, and the largest k
    applied. Released periods come from their whole-tree decisions; cells of periods that
    have not ended are all ``period_open``. ``live_rows``: live rows of the released
    periods, for their late arrivals (``late_n``)."""
    live: dict[str, list[ConstructRow]] = defaultdict(list)
    for r in live_rows:
        live[r.period].append(r)
    wanted = set(requested)
    show = set(scope.units() if only_units is None else only_units) & scope.units()
    cells: list[Cell] = []
    k_applied = base_k
    for released in frozen:
        found, k = period_cells(released, base_k, scope, wanted, show, live[released.period])
        cells += found
        k_applied = max(k_applied, k)
    pending: dict[tuple[str, str, str], str] = {}
    for r in open_rows:
        unit = scope.org.canonical(r.unit_id)
        if unit in show and (not wanted or r.construct in wanted or r.construct + TOP2 in wanted):
            pending[(unit, r.period, r.construct)] = r.population
    for (unit, period, construct), population in sorted(pending.items()):
        cells += _suppressed(
            unit, scope.org.name(unit), period, construct, population, wanted, PERIOD_OPEN
        )
    return sorted(cells, key=lambda c: (c.period, c.unit_id, c.construct)), k_applied
