"""Calibration of the demo's statistics across seeds: does the 95 % interval of the observed
unit-level correlation cover what the generator expects, and does the disattenuated
estimate centre on the planted latent correlation?

    python -m pulse_cli.demo.calibrate --seeds 1-20 [--size small] [--replicates 200]

Each seed's estimate is computed as the correlation service's report computes its headline
(Pearson over unit means over the whole range with a Fisher-z interval; ICC(2) over the range
for the disattenuated r), from exactly the answers the generator produces for that seed, i.e.
what the demo submits. ``tests/test_cli_demo_driver.py`` proves that the live report equals
this arithmetic on the same answers.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass

import numpy as np
import pulse_stats

from pulse_cli.demo.config import DemoConfig
from pulse_cli.demo.generator import Organisation, generate
from pulse_cli.demo.latent import expected_latent_r
from pulse_cli.demo.observed import expected_observed_r


@dataclass(frozen=True)
class SeedEstimate:
    seed: int
    units: int
    r: float
    ci_low: float
    ci_high: float
    icc2_x: float
    icc2_y: float
    disattenuated_r: float

    def covers(self, value: float) -> bool:
        return self.ci_low <= value <= self.ci_high


def estimate_for(org: Organisation, confidence_level: float = 0.95) -> SeedEstimate:
    config = org.config
    means = org.observed()
    result = pulse_stats.correlation(
        means.predictor, means.outcome, method="pearson", confidence_level=confidence_level
    )
    kept = set(means.teams.tolist())
    reliabilities = []
    for construct in (config.predictor, config.outcome):
        teams, scores = org.respondent_scores(construct)
        mask = np.isin(teams, list(kept))
        reliabilities.append(pulse_stats.icc(teams[mask], scores[mask]).icc2)
    icc2_x, icc2_y = reliabilities
    disattenuated = (
        pulse_stats.disattenuated(result.r, icc2_x, icc2_y)
        if 0 < icc2_x <= 1 and 0 < icc2_y <= 1
        else math.nan
    )
    return SeedEstimate(
        org.seed,
        int(means.teams.size),
        result.r,
        result.ci_low,
        result.ci_high,
        icc2_x,
        icc2_y,
        disattenuated,
    )


@dataclass(frozen=True)
class Calibration:
    config: DemoConfig
    expected_observed_r: float
    expected_latent_r: float
    rows: list[SeedEstimate]

    @property
    def coverage(self) -> float:
        return sum(row.covers(self.expected_observed_r) for row in self.rows) / len(self.rows)

    @property
    def mean_r(self) -> float:
        return float(np.mean([row.r for row in self.rows]))

    @property
    def mean_disattenuated(self) -> float:
        return float(np.nanmean([row.disattenuated_r for row in self.rows]))


def calibrate(config: DemoConfig, seeds: list[int], replicates: int = 200) -> Calibration:
    expected = expected_observed_r(config, seed=0, replicates=replicates)
    latent = expected_latent_r(config, seed=0, replicates=replicates)
    rows = [estimate_for(generate(config, seed)) for seed in seeds]
    return Calibration(config, expected, latent, rows)


def parse_seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        seeds.extend(range(int(low), int(high or low) + 1))
    return seeds


def render(cal: Calibration) -> str:
    c = cal.config
    lines = [
        f"size {c.size}: planted latent r {c.true_latent_r:.3f} (lag {c.lag_periods}); "
        f"latent r of unit means at the report's pairing {cal.expected_latent_r:.3f}; "
        f"expected observed r {cal.expected_observed_r:.3f}",
        f"{'seed':>4} {'units':>5} {'r':>7} {'95% CI':>17} {'ICC2 x':>7} {'ICC2 y':>7} "
        f"{'disatt.':>7} covers",
    ]
    for row in cal.rows:
        lines.append(
            f"{row.seed:>4} {row.units:>5} {row.r:>7.3f} [{row.ci_low:>6.3f}, {row.ci_high:>6.3f}]"
            f" {row.icc2_x:>7.3f} {row.icc2_y:>7.3f} {row.disattenuated_r:>7.3f} "
            f"{'yes' if row.covers(cal.expected_observed_r) else 'NO'}"
        )
    n = len(cal.rows)
    lines.append(
        f"coverage of expected_observed_r: {cal.coverage:.0%} of {n} seeds (nominal 95 %); "
        f"mean r {cal.mean_r:.3f}; mean disattenuated r {cal.mean_disattenuated:.3f} "
        f"(planted {c.true_latent_r:.3f})"
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
