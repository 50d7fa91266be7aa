#!/usr/bin/env python3
"""Benchmark of pulse_stats against baselines timed in the same run (not a test).

Wall-clock numbers depend on the machine, so every comparison is a ratio against a
baseline measured in the same process, on the same data, right next to it. Nothing
asserts on time: target lines print PASS when met and INFO when not, and the exit code is
0 unless the run itself raises.

Cases and targets:

* bootstrap     ``pulse_stats.bootstrap_correlation`` (Pearson, BCa, 9,999 resamples, 200
                units) vs ``scipy.stats.bootstrap(paired=True, method="BCa",
                vectorized=True)`` with ``scipy.stats.pearsonr`` as the statistic.
                Target: bootstrap within 2x of scipy. The same seed draws the same
                resamples, so the two intervals must also agree (printed alongside).
* permutation   ``pulse_stats.permutation_correlation`` (9,999 permutations) vs
                ``scipy.stats.permutation_test(permutation_type="pairings",
                vectorized=True)``. Target: permutation within 2x of scipy. The p-values
                are Monte Carlo estimates with different conventions (|r| vs twice the
                smaller tail), so they are shown for context only.
* icc           report-style cost of a unit ICC: ``icc_from_summaries`` on per-unit
                sufficient statistics (n_j, sum_j, sum of squares_j, as an aggregate table
                keeps them) vs ``icc`` on the raw respondent values, for 140 units x 1,500
                respondents per unit and for 10x the respondents. The summaries are built
                before timing (that work belongs to ingestion, not to the report). Target:
                summary ICC cost independent of respondents (its 10x/1x time ratio stays
                near 1) while the raw path grows with the number of answers.
* memory        peak traced allocation (``tracemalloc``) of one call of each path, inputs
                excluded. Target: summary ICC memory independent of respondents; the
                resampling paths are shown next to scipy's for context (pulse_stats
                evaluates resamples in bounded batches).

Timing: ``time.perf_counter``; each sample runs enough calls to last at least
``min_sample`` seconds, and the median of a few samples is reported per call (garbage
collection off while timing, as ``timeit`` does). Peak memory is measured in a separate,
untimed call because tracing slows allocation down.

Usage: bench_stats.py [--quick] [--seed S]
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pulse_stats as ps
import scipy
from numpy.typing import NDArray
from scipy import stats

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: Target thresholds (informational).
RESAMPLING_MAX_RATIO = 2.0
FLAT_MAX_GROWTH = 1.5


@dataclass(frozen=True)
class Config:
    units: int
    resamples: int
    icc_units: int
    respondents_per_unit: int
    repeats: int
    min_sample: float


FULL = Config(
    units=200,
    resamples=9_999,
    icc_units=140,
    respondents_per_unit=1_500,
    repeats=5,
    min_sample=0.1,
)
QUICK = Config(
    units=200,
    resamples=1_999,
    icc_units=140,
    respondents_per_unit=150,
    repeats=3,
    min_sample=0.02,
)


@dataclass(frozen=True)
class Row:
    case: str
    ours_s: float
    base_s: float
    ours_kib: float
    base_kib: float

    @property
    def ratio(self) -> float:
        return self.ours_s / self.base_s


def _sample(fn: Callable[[], object], loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        fn()
    return time.perf_counter() - start


def time_per_call(fn: Callable[[], object], repeats: int, min_sample: float) -> float:
    """Median seconds per call over ``repeats`` samples of at least ``min_sample`` s."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        first = _sample(fn, 1)  # warm-up; also sizes the loop count
        loops = 1 if first >= min_sample else math.ceil(min_sample / max(first, 1e-7))
        samples = [_sample(fn, loops) / loops for _ in range(repeats)]
    finally:
        if enabled:
            gc.enable()
    return statistics.median(samples)


def peak_kib(fn: Callable[[], object]) -> float:
    """Peak traced allocation of one call of ``fn`` in KiB (allocations before it excluded)."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1024.0


def measure(case: str, ours: Callable[[], object], base: Callable[[], object], cfg: Config) -> Row:
    return Row(
        case=case,
        ours_s=time_per_call(ours, cfg.repeats, cfg.min_sample),
        base_s=time_per_call(base, cfg.repeats, cfg.min_sample),
        ours_kib=peak_kib(ours),
        base_kib=peak_kib(base),
    )


def _fmt_time(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'case':<44} {'pulse_stats':>11} {'baseline':>11} {'ratio':>7}"
        f" {'peak KiB ps':>12} {'peak KiB base':>14}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.case:<44} {_fmt_time(r.ours_s):>11} {_fmt_time(r.base_s):>11}"
            f" {r.ratio:>6.2f}x {r.ours_kib:>12,.0f} {r.base_kib:>14,.0f}"
        )


def target(met: bool, text: str) -> None:
    print(f"{'PASS' if met else 'INFO'}  {text}")


# --- data ------------------------------------------------------------------------------


def paired_data(n: int, seed: int) -> tuple[FloatArray, FloatArray]:
    """A modest correlation (rho about 0.15) so the permutation p-value is not at its floor."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x, 0.15 * x + rng.normal(size=n)


def survey_data(units: int, per_unit: int, seed: int) -> tuple[IntArray, FloatArray]:
    """1-5 answers of ``per_unit`` respondents in each unit, with a unit effect (ICC ~ 0.1)."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(units, dtype=np.intp), per_unit)
    effects = rng.normal(scale=0.35, size=units)
    latent = 3.2 + effects[groups] + rng.normal(size=groups.size)
    return groups, np.clip(np.round(latent), 1.0, 5.0)


def summaries(groups: IntArray, values: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    n = np.bincount(groups).astype(np.float64)
    sums = np.bincount(groups, weights=values).astype(np.float64)
    squares = np.bincount(groups, weights=values * values).astype(np.float64)
    return n, sums, squares


# --- cases -----------------------------------------------------------------------------


def _scipy_pearson(u: Any, v: Any, axis: int = -1) -> Any:
    return stats.pearsonr(u, v, axis=axis).statistic


def bench_bootstrap(cfg: Config, seed: int) -> tuple[Row, float]:
    x, y = paired_data(cfg.units, seed)

    def ours() -> ps.CorrelationResult:
        return ps.bootstrap_correlation(
            x, y, method="pearson", n_resamples=cfg.resamples, random_state=seed
        )

    def base() -> Any:
        return stats.bootstrap(
            (x, y),
            _scipy_pearson,
            paired=True,
            vectorized=True,
            n_resamples=cfg.resamples,
            method="BCa",
            rng=np.random.default_rng(seed),
        )

    a, b = ours(), base().confidence_interval
    gap = max(abs(a.ci_low - float(b.low)), abs(a.ci_high - float(b.high)))
    case = f"bootstrap BCa r, n={cfg.units}, B={cfg.resamples:,}"
    return measure(case, ours, base, cfg), gap


def bench_permutation(cfg: Config, seed: int) -> tuple[Row, float, float]:
    x, y = paired_data(cfg.units, seed)

    def statistic(u: Any, axis: int = -1) -> Any:
        return stats.pearsonr(u, y, axis=axis).statistic

    def ours() -> ps.CorrelationResult:
        return ps.permutation_correlation(
            x, y, method="pearson", n_resamples=cfg.resamples, random_state=seed
        )

    def base() -> Any:
        return stats.permutation_test(
            (x,),
            statistic,
            permutation_type="pairings",
            vectorized=True,
            n_resamples=cfg.resamples,
            alternative="two-sided",
            rng=np.random.default_rng(seed),
        )

    p_ours, p_base = ours().p_value, float(base().pvalue)
    case = f"permutation r, n={cfg.units}, B={cfg.resamples:,}"
    return measure(case, ours, base, cfg), p_ours, p_base


def bench_icc(cfg: Config, per_unit: int, seed: int) -> tuple[Row, float]:
    groups, values = survey_data(cfg.icc_units, per_unit, seed)
    n, sums, squares = summaries(groups, values)

    def ours() -> ps.IccResult:
        return ps.icc_from_summaries(n, sums, squares)

    def base() -> ps.IccResult:
        return ps.icc(groups, values)

    gap = abs(ours().icc1 - base().icc1)
    case = f"icc summaries vs raw, {cfg.icc_units} x {per_unit:,} resp"
    return measure(case, ours, base, cfg), gap


# --- main ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller, faster run")
    parser.add_argument("--seed", type=int, default=20240611)
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    started = time.perf_counter()

    print(
        f"pulse_stats bench ({'quick' if args.quick else 'full'}): python"
        f" {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__},"
        f" {os.cpu_count()} CPUs; median of {cfg.repeats} samples; ratio = pulse_stats /"
        " baseline\n"
    )

    boot, boot_gap = bench_bootstrap(cfg, args.seed)
    perm, p_ours, p_base = bench_permutation(cfg, args.seed)
    small, small_gap = bench_icc(cfg, cfg.respondents_per_unit, args.seed)
    large, large_gap = bench_icc(cfg, 10 * cfg.respondents_per_unit, args.seed)
    print_table([boot, perm, small, large])

    summary_growth = large.ours_s / small.ours_s
    raw_growth = large.base_s / small.base_s
    summary_mem_growth = large.ours_kib / small.ours_kib
    raw_mem_growth = large.base_kib / small.base_kib
    print(
        f"\nicc 10x/1x respondents: summaries time {summary_growth:.2f}x,"
        f" raw time {raw_growth:.2f}x; summaries peak memory {summary_mem_growth:.2f}x,"
        f" raw peak memory {raw_mem_growth:.2f}x\n"
    )

    target(
        boot.ratio <= RESAMPLING_MAX_RATIO,
        f"bootstrap within {RESAMPLING_MAX_RATIO:g}x of scipy.stats.bootstrap:"
        f" {boot.ratio:.2f}x (same seed, interval endpoints differ by {boot_gap:.1e})",
    )
    target(
        perm.ratio <= RESAMPLING_MAX_RATIO,
        f"permutation within {RESAMPLING_MAX_RATIO:g}x of scipy.stats.permutation_test:"
        f" {perm.ratio:.2f}x (p = {p_ours:.4f} vs scipy {p_base:.4f}, Monte Carlo)",
    )
    target(
        summary_growth <= FLAT_MAX_GROWTH,
        f"summary ICC cost independent of respondents: 10x respondents -> time"
        f" {summary_growth:.2f}x (raw icc {raw_growth:.2f}x); at"
        f" {10 * cfg.respondents_per_unit:,} per unit summaries take {large.ratio:.4f}"
        f" of the raw time (ICC(1) agrees to {max(small_gap, large_gap):.1e})",
    )
    target(
        summary_mem_growth <= FLAT_MAX_GROWTH,
        f"summary ICC memory independent of respondents: peak {small.ours_kib:,.1f} ->"
        f" {large.ours_kib:,.1f} KiB (raw {small.base_kib:,.0f} -> {large.base_kib:,.0f} KiB)",
    )
    print(
        f"INFO  resampling peak memory: bootstrap {boot.ours_kib:,.0f} KiB vs scipy"
        f" {boot.base_kib:,.0f} KiB; permutation {perm.ours_kib:,.0f} KiB vs scipy"
        f" {perm.base_kib:,.0f} KiB"
    )
    print(f"INFO  total wall time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
