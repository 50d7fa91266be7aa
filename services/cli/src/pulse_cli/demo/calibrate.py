"""Calibration of the demo's statistics across seeds, without the services: for every planted
driver, does the 95 % interval of the observed unit-level correlation cover what the
generator plants (``observed.expected_driver_rs``)?

    python -m pulse_cli.demo.calibrate --seeds 1-20 [--size small] [--replicates 200]

Each seed's estimate is computed as the correlation service's report computes a driver's
headline (Pearson over unit means over the whole range with a Fisher-z interval, units with
at least k answers on both sides), from exactly the answers the generator produces for that
seed, i.e. what the demo submits (every customer invited at the demo's sample rate of 1).
``services/cli/tests/test_cli_demo_driver.py`` proves that the live report equals this
arithmetic on the same answers.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import numpy as np
import pulse_stats
from pulse_common.measures import TREATMENT_CONSTRUCTS

from pulse_cli.demo.config import DemoConfig
from pulse_cli.demo.generator import Organisation, generate
from pulse_cli.demo.observed import Planted, expected_driver_rs


@dataclass(frozen=True)
class SeedEstimate:
    seed: int
    driver: str
    units: int
    r: float
    ci_low: float
    ci_high: float

    def covers(self, value: float) -> bool:
        return self.ci_low <= value <= self.ci_high


def estimate_for(org: Organisation, driver: str, confidence_level: float = 0.95) -> SeedEstimate:
    means = org.observed(predictor=driver)
    result = pulse_stats.correlation(
        means.predictor, means.outcome, method="pearson", confidence_level=confidence_level
    )
    return SeedEstimate(
        org.seed, driver, int(means.teams.size), result.r, result.ci_low, result.ci_high
    )


@dataclass(frozen=True)
class Calibration:
    config: DemoConfig
    planted: dict[str, Planted]
    rows: list[SeedEstimate]

    def coverage(self, driver: str) -> tuple[int, int]:
        """(seeds whose interval covers the planted value, seeds)."""
        mine = [row for row in self.rows if row.driver == driver]
        return sum(row.covers(self.planted[driver].observed) for row in mine), len(mine)

    def mean_r(self, driver: str) -> float:
        return float(np.mean([row.r for row in self.rows if row.driver == driver]))


def calibrate(
    config: DemoConfig,
    seeds: list[int],
    replicates: int = 200,
    drivers: tuple[str, ...] = TREATMENT_CONSTRUCTS,
) -> Calibration:
    planted = expected_driver_rs(config, seed=0, replicates=replicates, constructs=drivers)
    rows: list[SeedEstimate] = []
    for seed in seeds:
        org = generate(config, seed)
        rows.extend(estimate_for(org, driver) for driver in drivers)
    return Calibration(config, planted, rows)


def parse_seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        seeds.extend(range(int(low), int(high or low) + 1))
    return seeds


def render(cal: Calibration) -> str:
    lines = [
        f"size {cal.config.size}: per driver, the planted value (expected observed r of unit "
        "means, Monte Carlo) and how often the report's 95 % interval covers it",
        f"{'driver':<24} {'planted':>8} {'latent':>7} {'mean r':>7} {'covered':>9}",
    ]
    for driver, truth in cal.planted.items():
        covered, n = cal.coverage(driver)
        lines.append(
            f"{driver:<24} {truth.observed:>8.3f} {truth.latent:>7.3f} "
            f"{cal.mean_r(driver):>7.3f} {covered:>4} of {n}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--seeds", default="1-20", help="e.g. 1-20 or 1,5,9-12")
    parser.add_argument("--size", default="small")
    parser.add_argument("--replicates", type=int, default=200)
    args = parser.parse_args(argv)
    config = DemoConfig(size=args.size)
    print(render(calibrate(config, parse_seeds(args.seeds), args.replicates)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
