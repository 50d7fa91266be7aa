"""The internal-customer chain, pure: dated "serves" links, the request, and the panel a chain
report analyses — one row per served (front-line) unit and period holding

- ``service``: the service of the units serving it in that period (the n-weighted mean of
  their internal service scores, each rated by the units they serve),
- ``mediator``: its employees' construct score (e.g. ``treatment.support``),
- ``outcome``: its customers' outcome score (e.g. ``csat``),

every one of them from a cell of at least k people (the measure's effective k); a cell below
k is left out, never shown. Only the estimates computed from the panel are released.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pulse_stats
from pulse_common.periods import period_end

from pulse_correlation.aggregates import Sums
from pulse_correlation.values import as_sent

DEFAULT_SERVICE_MEASURE = "internal.csat"
DEFAULT_MEDIATOR = "treatment.support"
DEFAULT_OUTCOME = "csat"
DEFAULT_MAX_LAG = 1
MAX_LAG = 3


@dataclass(frozen=True)
class ChainEstimate:
    """An estimate as the report carries it (undefined values already 0.0: ``as_sent``)."""

    method: str
    r: float
    p_value: float
    ci_low: float
    ci_high: float
    n: int

    @classmethod
    def of(cls, result: pulse_stats.CorrelationResult) -> ChainEstimate:
        return cls(
            result.method,
            as_sent(result.r),
            as_sent(result.p_value),
            as_sent(result.ci_low),
            as_sent(result.ci_high),
            result.n,
        )


NO_ESTIMATE = ChainEstimate("", 0.0, 0.0, 0.0, 0.0, 0)


@dataclass(frozen=True)
class ChainLag:
    lag: int  # > 0: the path's first measure leads
    estimate: ChainEstimate


@dataclass(frozen=True)
class ChainVerdict:
    level: str  # not_enough_data | supported | weak | no_evidence
    text: str
    caveats: list[str]


@dataclass(frozen=True)
class ServesLink:
    serving_unit_id: str
    served_unit_id: str
    valid_from: dt.date
    valid_to: dt.date | None  # exclusive; None = open ended

    def holds_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


def servers_by_period(
    links: Iterable[ServesLink], periods: Iterable[str]
) -> dict[str, dict[str, set[str]]]:
    """period -> served unit -> the units serving it, as the links stood on the period's
    last day (the date the dated org is read as of everywhere in reports)."""
    links = list(links)
    found: dict[str, dict[str, set[str]]] = {}
    for period in periods:
        last_day = period_end(period)
        served: dict[str, set[str]] = {}
        for link in links:
            if link.holds_on(last_day):
                served.setdefault(link.served_unit_id, set()).add(link.serving_unit_id)
        found[period] = served
    return found


@dataclass(frozen=True)
class ChainOptions:
    bootstrap_resamples: int
    confidence_level: float
    random_seed: int


@dataclass(frozen=True)
class ChainRequest:
    scope_unit_id: str
    period_from: str
    period_to: str
    service_measure: str  # stored construct, internal.*
    mediator: str  # employee construct
    outcome: str  # customer construct
    max_lag: int
    options: ChainOptions


@dataclass(frozen=True)
class ChainRow:
    unit_id: str  # the served unit
    period: str
    service: float
    mediator: float
    outcome: float


@dataclass(frozen=True)
class ChainPanel:
    rows: tuple[ChainRow, ...]
    serving_units: frozenset[str]

    @property
    def units(self) -> list[str]:
        return sorted({row.unit_id for row in self.rows})


Cells = Mapping[tuple[str, str], Sums]  # (unit, period) -> sums of one measure


@dataclass(frozen=True)
class ChainCells:
    """The three measures' cells (canonical units) and the k each is released under."""

    service: Cells
    mediator: Cells
    outcome: Cells
    k_service: int
    k_mediator: int
    k_outcome: int


def _mean(cells: Cells, key: tuple[str, str], k: int) -> float | None:
    sums = cells.get(key)
    if sums is None or sums.n < max(k, 1):
        return None
    return sums.total / sums.n


def _service(
    cells: ChainCells, servers: Iterable[str], period: str
) -> tuple[float, set[str]] | None:
    """n-weighted mean service of the released servers' cells."""
    total = 0.0
    n = 0
    used: set[str] = set()
    for server in sorted(servers):
        sums = cells.service.get((server, period))
        if sums is not None and sums.n >= max(cells.k_service, 1):
            total += sums.total
            n += sums.n
            used.add(server)
    return (total / n, used) if n else None


def build_panel(
    cells: ChainCells,
    served_units: Iterable[str],
    servers: Mapping[str, Mapping[str, set[str]]],
) -> ChainPanel:
    """Rows of the served units in scope with all three measures released in a period."""
    rows: list[ChainRow] = []
    serving: set[str] = set()
    for unit in sorted(set(served_units)):
        for period in sorted(servers):
            service = _service(cells, servers[period].get(unit, set()), period)
            mediator = _mean(cells.mediator, (unit, period), cells.k_mediator)
            outcome = _mean(cells.outcome, (unit, period), cells.k_outcome)
            if service is None or mediator is None or outcome is None:
                continue
            rows.append(ChainRow(unit, period, service[0], mediator, outcome))
            serving |= service[1]
    return ChainPanel(tuple(rows), frozenset(serving))
