"""The data of ``bench_report_scale``: the org, the surveys and the per-(unit, month)
aggregates a number of responses add up to, written straight into the correlation tables
(where the responses fall: ``bench_report_scale``'s module doc)."""

from __future__ import annotations

import asyncio
import random
import sys
from datetime import date

import asyncpg
import nats
from harness import publish_regions
from pulse_common.measures import EMPLOYEE
from pulse_common.periods import Period, period_of
from pulse_correlation.domain import ItemSpec, item_specs, population_of
from report_cost_data import CUSTOMER_SURVEY, EMPLOYEE_SURVEY


def months(count: int) -> list[str]:
    """The ``count`` months that ended last (the current one is still open)."""
    last: Period = period_of(date.today(), "month").shift(-1)
    return [last.shift(-i).label for i in reversed(range(count))]


def cell_rows(
    unit_count: int, period_count: int, size: int, k: int, rng: random.Random
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Population, construct and item rows of ``size`` responses (module doc: where)."""
    units = [f"U{i:03d}" for i in range(unit_count)]
    periods = months(period_count)
    per_unit = size // (2 * len(units))
    span = min(len(periods), max(1, per_unit // k))
    pops: list[tuple[object, ...]] = []
    cons: list[tuple[object, ...]] = []
    items: list[tuple[object, ...]] = []
    for definition in (EMPLOYEE_SURVEY, CUSTOMER_SURVEY):
        population = population_of(definition.kind)
        specs = item_specs(definition)
        for index, unit in enumerate(units):
            quality = (index % 7) / 6
            for period, n in _unit_cells(periods, index, population, span, per_unit, rng):
                if n == 0:
                    continue
                pops.append((unit, period, population, n))
                by_construct: dict[str, list[float]] = {}
                for spec in specs.values():
                    row, score = _item(unit, period, population, spec, n, quality, rng)
                    items.append(row)
                    by_construct.setdefault(spec.construct, []).append(score)
                for construct, scores in by_construct.items():
                    mean = sum(scores) / len(scores)
                    cons.append(
                        (
                            unit,
                            period,
                            construct,
                            population,
                            n,
                            n * mean,
                            n * (mean * mean + 150.0),
                        )
                    )
    return pops, cons, items


def _unit_cells(
    periods: list[str], index: int, population: str, span: int, per_unit: int, rng: random.Random
) -> list[tuple[str, int]]:
    """One unit's months and respondents: every month (floor(r) or floor(r) + 1 each, r the
    unit's mean per month), or ``span`` consecutive months, customers one month after
    employees, the first month staggered by unit."""
    if span == len(periods):
        per_cell = per_unit / span
        whole, frac = int(per_cell), per_cell - int(per_cell)
        return [(p, whole + (1 if rng.random() < frac else 0)) for p in periods]
    first = index % (len(periods) - span) + (0 if population == EMPLOYEE else 1)
    counts = [per_unit // span + (1 if i < per_unit % span else 0) for i in range(span)]
    return list(zip(periods[first : first + span], counts, strict=True))


def _item(
    unit: str,
    period: str,
    population: str,
    spec: ItemSpec,
    n: int,
    quality: float,
    rng: random.Random,
) -> tuple[tuple[object, ...], float]:
    span = spec.scale_max - spec.scale_min
    mean = spec.scale_min + span * min(1.0, max(0.0, quality + rng.gauss(0, 0.1)))
    point = round(mean)
    counts = [0] * (span + 1)
    counts[point - spec.scale_min] = n
    nps = span == 10
    row = (
        unit,
        period,
        spec.item_id,
        spec.construct,
        population,
        spec.scale_min,
        spec.scale_max,
        n,
        n * mean,
        n * (mean * mean + 0.5),
        counts,
        n if nps and point >= 9 else 0,
        n if nps and 7 <= point <= 8 else 0,
        n if nps and point <= 6 else 0,
        n if point >= spec.scale_max - 1 else 0,
        n,
        n * mean * spec.to_100(mean),
    )
    return row, spec.to_100(mean)


async def load(
    database_url: str, unit_count: int, period_count: int, size: int, k: int, rng: random.Random
) -> int:
    """Writes the rows of ``cell_rows``; how many."""
    pops, cons, items = cell_rows(unit_count, period_count, size, k, rng)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.copy_records_to_table(
            "agg_population",
            schema_name="correlation",
            records=pops,
            columns=("unit_id", "period", "population", "n"),
        )
        await conn.copy_records_to_table(
            "agg_construct",
            schema_name="correlation",
            records=cons,
            columns=("unit_id", "period", "construct", "population", "n", "sum", "sumsq"),
        )
        await conn.copy_records_to_table(
            "agg_item",
            schema_name="correlation",
            records=items,
            columns=(
                "unit_id",
                "period",
                "item_id",
                "construct",
                "population",
                "scale_min",
                "scale_max",
                "n",
                "sum",
                "sumsq",
                "counts",
                "promoters",
                "passives",
                "detractors",
                "top2",
                "n_xt",
                "sum_xt",
            ),
        )
        await conn.execute("VACUUM ANALYZE correlation.agg_construct, correlation.agg_item")
    finally:
        await conn.close()
    return len(pops) + len(cons) + len(items)


async def publish_org(js: nats.js.JetStreamContext, unit_count: int) -> int:
    """Two regions over the units, and the two survey versions; how many units."""
    units = [f"U{i:03d}" for i in range(unit_count)]
    return await publish_regions(js, units, (EMPLOYEE_SURVEY, CUSTOMER_SURVEY), "2020-01-01")


async def load_elsewhere(
    database_url: str, unit_count: int, period_count: int, size: int, k: int, seed: int
) -> int:
    """``load`` in a process of its own (``random.Random(seed)``), so that the process
    running the correlation service holds what the service holds and not the heap that
    building 168,000 rows in Python leaves behind; how many rows."""
    args = [database_url, str(unit_count), str(period_count), str(size), str(k), str(seed)]
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, *args, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"loading {size} responses failed ({child.returncode})")
    return int(out.decode().split()[-1])


if __name__ == "__main__":
    url, units, periods, responses, k, seed = sys.argv[1:7]
    rows = asyncio.run(
        load(url, int(units), int(periods), int(responses), int(k), random.Random(int(seed)))
    )
    print(rows)
