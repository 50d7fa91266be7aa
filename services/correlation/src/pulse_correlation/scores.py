"""GetScores and GetTrends: per unit and period, the numbers of the unit's whole subtree.

A cell's value covers every respondent attributed to the unit or to any unit below it (as the
org stood at the end of the range). Cells go through ``confidentiality.release_hierarchy``
(roll-up, complementary suppression) and the viewer's differencing ledger, in one
transaction that also records what was released. Values: constructs 0-100 with a t-interval
of the mean; NPS constructs (nps, enps) -100..100 with their standard-error interval;
``<construct>.top2box`` cells the share of answers in the top two boxes with a Wilson interval.
Each measure is released under ``confidentiality.effective_k`` (the deployment k, or more when
a survey version feeding it promised more).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import pulse_stats

from pulse_correlation import repository as repo
from pulse_correlation.access import Viewer, load_org, mean_interval, resolve_scope
from pulse_correlation.confidentiality import ROLLED_UP, Ledger, Tree, cell_id, release_hierarchy
from pulse_correlation.domain import EMPLOYEE, is_nps_construct
from pulse_correlation.org import ORG_ROOT

TOP2 = ".top2box"


@dataclass(frozen=True)
class Cell:
    unit_id: str
    unit_name: str
    period: str
    construct: str
    n: int = 0
    value: float = 0.0
    ci_low: float = 0.0
    ci_high: float = 0.0
    suppressed: bool = False
    reason: str = ""
    rolled_up: bool = False


@dataclass
class _Sums:
    n: int = 0
    total: float = 0.0
    squares: float = 0.0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    top2: int = 0
    answers: int = 0  # non-NPS item answers (top-2-box denominator)


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def _cells_for(
    unit: str,
    name: str,
    period: str,
    construct: str,
    population: str,
    sums: _Sums,
    emit_mean: bool,
    emit_top2: bool,
    rolled_up: bool,
) -> list[Cell]:
    cells: list[Cell] = []
    if emit_mean:
        if is_nps_construct(construct) and sums.promoters + sums.passives + sums.detractors:
            result = pulse_stats.nps_from_counts(sums.promoters, sums.passives, sums.detractors)
            cells.append(
                Cell(
                    unit,
                    name,
                    period,
                    construct,
                    result.n,
                    result.nps,
                    result.ci_low,
                    result.ci_high,
                    rolled_up=rolled_up,
                )
            )
        else:
            mean, low, high, _ = mean_interval(sums.n, sums.total, sums.squares)
            cells.append(
                Cell(
                    unit,
                    name,
                    period,
                    construct,
                    sums.n,
                    mean,
                    _finite(low),
                    _finite(high),
                    rolled_up=rolled_up,
                )
            )
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


async def scores(
    pool: asyncpg.Pool,
    k: int,
    viewer: Viewer,
    scope_unit_id: str,
    period_from: str,
    period_to: str,
    constructs: Sequence[str],
    *,
    only_unit: str | None = None,
) -> tuple[list[Cell], int]:
    """Cells for every unit of the scope (or only ``only_unit``: trends), period, construct;
    and the largest k applied (``k`` when no survey promised more)."""
    requested = set(constructs)
    base = sorted({c.removesuffix(TOP2) for c in requested}) if requested else None
    async with repo.transaction(pool) as conn:
        org = await load_org(conn, period_to)
        rows = await repo.construct_rows(conn, period_from, period_to, base)
        org = org.with_units(org.canonical(r.unit_id) for r in rows)
        scope = resolve_scope(org, viewer, scope_unit_id)
        if only_unit is not None:
            only_unit = scope
        tree = Tree(scope, org.subtree_parents(scope))
        in_scope = set(tree.units())
        sums: dict[tuple[str, str], dict[str, _Sums]] = defaultdict(dict)  # (period, c)->cell
        population_of: dict[str, str] = {}
        for r in rows:
            unit = org.canonical(r.unit_id)
            if unit not in in_scope:
                continue
            population_of[r.construct] = r.population
            s = sums[(r.period, r.construct)].setdefault(cell_id(unit, r.period), _Sums())
            s.n += r.n
            s.total += r.sum
            s.squares += r.sumsq
        if sums:
            for i in await repo.item_rows(conn, period_from, period_to, sorted(population_of)):
                unit = org.canonical(i.unit_id)
                target = sums.get((i.period, i.construct), {}).get(cell_id(unit, i.period))
                if target is None:
                    continue
                target.promoters += i.promoters
                target.passives += i.passives
                target.detractors += i.detractors
                if (i.scale_min, i.scale_max) != (0, 10):
                    target.top2 += i.top2
                    target.answers += i.n
        await repo.lock_viewer(conn, viewer.viewer_id)
        measures = {f"{p}:{c}" for c, p in population_of.items()}
        ledger = Ledger(
            k,
            await repo.released_groups(conn, viewer.viewer_id, measures),
            await repo.measure_ks(conn),
        )
        k_applied = max([k, *(ledger.k_for(m) for m in measures)])
        already = len(ledger.released)
        kids = tree.children()
        cells: list[Cell] = []
        for (period, construct), by_cell in sorted(sums.items()):
            population = population_of[construct]
            own = {
                u: {cell_id(u, period): by_cell[cell_id(u, period)].n}
                for u in in_scope
                if cell_id(u, period) in by_cell
            }
            measure = f"{population}:{construct}"
            decision = release_hierarchy(
                tree,
                own,
                measure,
                ledger.k_for(measure),
                ledger,
                releasable_root=scope != ORG_ROOT,
                release_only=None if only_unit is None else {only_unit},
            )
            emit_mean = not requested or construct in requested
            emit_top2 = (not requested and not is_nps_construct(construct)) or (
                construct + TOP2 in requested
            )
            for unit, group in sorted(decision.released.items()):
                total = _Sums()
                for cell in group.counts:
                    part = by_cell[cell]
                    for field in vars(total):
                        setattr(total, field, getattr(total, field) + getattr(part, field))
                rolled = any(
                    decision.reasons.get(child) == ROLLED_UP + unit for child in kids[unit]
                )
                cells += _cells_for(
                    unit,
                    org.name(unit),
                    period,
                    construct,
                    population,
                    total,
                    emit_mean,
                    emit_top2,
                    rolled,
                )
            for unit, reason in sorted(decision.reasons.items()):
                if only_unit is not None and unit != only_unit:
                    continue
                names = ([construct] if emit_mean else []) + (
                    [construct + TOP2] if emit_top2 and population != EMPLOYEE else []
                )
                cells += [
                    Cell(unit, org.name(unit), period, name, suppressed=True, reason=reason)
                    for name in names
                ]
        await repo.record_groups(
            conn, viewer.viewer_id, ledger.released[already:], "trends" if only_unit else "scores"
        )
    if only_unit is not None:
        cells = [c for c in cells if c.unit_id == only_unit]
    return sorted(cells, key=lambda c: (c.period, c.unit_id, c.construct)), k_applied
