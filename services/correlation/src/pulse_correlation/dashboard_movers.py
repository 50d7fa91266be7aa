"""The teams that moved most (issue 15), pure: across every team of a dashboard page's
subtree (units without children), not only the level below, from released cells only.

A change counts when it is larger than its noise: each period's standard error is read
back from its 95 % interval as (high - low) / (2 x 1.96) and the change must exceed
1.96 x sqrt(se1^2 + se2^2), the z-test of the difference between two independent estimates
(Altman & Bland, "Interaction revisited: the difference between two estimates", BMJ
2003;326:219) — the rule the web applied to the level below. Top-two-box shares are left
out (their change is read on the score itself)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pulse_correlation.score_cells import TOP2, Cell

Z95 = 1.959963984540054
MOVERS_PER_DIRECTION = 5


@dataclass(frozen=True)
class Mover:
    """Field names are those of ``pb.DashboardMover`` (``unit_id`` becomes its unit)."""

    unit_id: str
    construct: str
    period: str
    previous_period: str
    value: float
    previous_value: float
    change: float
    noise: float


def _interval_known(cell: Cell) -> bool:
    """An undefined interval (fewer than two answers) is sent as 0 to 0."""
    return cell.n >= 2 and not (cell.ci_low == 0.0 and cell.ci_high == 0.0 and cell.value != 0.0)


def _se(cell: Cell) -> float:
    return (cell.ci_high - cell.ci_low) / (2 * Z95) if _interval_known(cell) else math.nan


def _shown(cell: Cell | None) -> bool:
    return cell is not None and not cell.suppressed and math.isfinite(cell.value)


def latest_periods(cells: Iterable[Cell]) -> tuple[str, str]:
    """(latest, previous) period with a shown cell (an open period, whose cells are all
    withheld, is not one); "" when missing."""
    periods = sorted({c.period for c in cells if _shown(c)})
    return (periods[-1] if periods else "", periods[-2] if len(periods) > 1 else "")


def movers(
    cells: Iterable[Cell],
    teams: Iterable[str],
    latest: str,
    previous: str,
    limit: int = MOVERS_PER_DIRECTION,
) -> list[Mover]:
    """Up to ``limit`` teams moving up and ``limit`` moving down (each team and measure a
    candidate), largest change first."""
    wanted = set(teams)
    if not latest or not previous or not wanted:
        return []
    at: Mapping[tuple[str, str, str], Cell] = {
        (c.unit_id, c.period, c.construct): c
        for c in cells
        if c.unit_id in wanted and c.period in (latest, previous) and not c.construct.endswith(TOP2)
    }
    found: list[Mover] = []
    for (unit, period, construct), now in at.items():
        if period != latest:
            continue
        before = at.get((unit, previous, construct))
        if not (_shown(now) and before is not None and _shown(before)):
            continue
        change = now.value - before.value
        noise = Z95 * math.hypot(_se(now), _se(before))
        if math.isfinite(noise) and abs(change) > noise:
            found.append(
                Mover(unit, construct, latest, previous, now.value, before.value, change, noise)
            )
    found.sort(key=lambda m: (-abs(m.change), m.unit_id, m.construct))
    up = [m for m in found if m.change > 0][:limit]
    down = [m for m in found if m.change < 0][:limit]
    return up + down
