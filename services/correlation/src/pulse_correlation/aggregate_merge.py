"""Summing a batch of responses' aggregate additions per aggregate row (pure), so a batch
is added to each table with one statement that touches every row once. Sufficient
statistics add up (n, sum, sum of squares, per-scale-point counts, NPS classes), so adding
the batch's sums equals adding the responses one by one (up to floating-point rounding of
the order of the additions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pulse_common.measures import EMPLOYEE

from pulse_correlation.domain import ResponseDeltas

# (unit, period, population) and (unit, period, population, channel) -> n
PopulationKey = tuple[str, str, str]
ChannelKey = tuple[str, str, str, str]
# (unit, period, construct) and (unit, period, item)
CellKey = tuple[str, str, str]


@dataclass
class ConstructSums:
    population: str
    n: int = 0
    sum: float = 0.0
    sumsq: float = 0.0

    def row(self) -> tuple[str, int, float, float]:
        return (self.population, self.n, self.sum, self.sumsq)


@dataclass
class ItemSums:
    construct: str
    population: str
    scale_min: int
    scale_max: int
    counts: list[int]
    n: int = 0
    sum: float = 0.0
    sumsq: float = 0.0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    top2: int = 0
    n_xt: int = 0
    sum_xt: float = 0.0

    def row(self) -> tuple[str | int | float, ...]:
        """In the column order of ``aggregate_repository.apply_responses``; the counts as
        an array literal (``unnest`` cannot take an array of arrays of varying length)."""
        return (
            self.construct,
            self.population,
            self.scale_min,
            self.scale_max,
            self.n,
            self.sum,
            self.sumsq,
            self.promoters,
            self.passives,
            self.detractors,
            self.top2,
            self.n_xt,
            self.sum_xt,
            "{" + ",".join(map(str, self.counts)) + "}",
        )


@dataclass
class MergedDeltas:
    population: dict[PopulationKey, int] = field(default_factory=dict)
    constructs: dict[CellKey, ConstructSums] = field(default_factory=dict)
    items: dict[CellKey, ItemSums] = field(default_factory=dict)
    channels: dict[ChannelKey, int] = field(default_factory=dict)


def merge_deltas(batch: Sequence[ResponseDeltas]) -> MergedDeltas:
    """The batch's additions summed per aggregate row (each row's sums made once, when
    the batch first touches it)."""
    m = MergedDeltas()
    population, constructs, items, channels = m.population, m.constructs, m.items, m.channels
    for d in batch:
        unit_id, period = d.unit_id, d.period
        key = (unit_id, period, d.population)
        population[key] = population.get(key, 0) + 1
        for c in d.constructs:
            cell = (unit_id, period, c.construct)
            sums = constructs.get(cell)
            if sums is None:
                sums = constructs[cell] = ConstructSums(d.population)
            score = c.score
            sums.n += 1
            sums.sum += score
            sums.sumsq += score * score
        for i in d.items:
            spec = i.item
            cell = (unit_id, period, spec.item_id)
            item = items.get(cell)
            if item is None:
                item = items[cell] = ItemSums(
                    spec.construct,
                    d.population,
                    spec.scale_min,
                    spec.scale_max,
                    [0] * (spec.scale_max - spec.scale_min + 1),
                )
            value = i.value
            x = float(value)
            item.n += 1
            item.sum += x
            item.sumsq += x * x
            if spec.is_nps:
                if value >= 9:
                    item.promoters += 1
                elif value >= 7:
                    item.passives += 1
                else:
                    item.detractors += 1
            elif value >= spec.scale_max - 1:
                item.top2 += 1
            item.n_xt += 1
            item.sum_xt += x * i.construct_score
            position = value - item.scale_min  # 0-based slot of the scale point
            counts = item.counts
            if position >= len(counts):  # a later version with a wider scale
                counts.extend([0] * (position + 1 - len(counts)))
            counts[position] += 1
        if d.population != EMPLOYEE:
            channel = (unit_id, period, d.population, d.channel or "unknown")
            channels[channel] = channels.get(channel, 0) + 1
    return m
