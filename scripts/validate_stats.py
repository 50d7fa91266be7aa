#!/usr/bin/env python3
"""Simulation study validating pulse_stats on data from a known generative model.

Employees and customers are nested in units with realistic ICCs, unequal unit sizes and
1-5 Likert answers (pulse_stats.simulation). The analysis target is the population
correlation of *observed unit means* (the latent correlation attenuated by within-unit
noise and rounding), computed once per design by a large Monte Carlo. Each replicate then
draws J units and runs the library exactly as the correlation service would.

Checks (PASS/FAIL lines decide the exit code; INFO lines are context):

* recovery      mean r over replicates vs the target (allowing the known O(1/J) bias)
* coverage      share of 95% Fisher-z intervals containing the target
* null          false-positive rate of the t-test and of the permutation test at rho = 0
* fdr           Benjamini-Hochberg false-discovery proportion, 20 drivers with 5 true
* power         rejection rate by number of units vs bivariate-normal power at the target,
                and power at pulse_stats.units_needed(target)
* icc           ICC(1) of raw answers and of per-unit summaries vs the population ICC

Usage: validate_stats.py [--replicates N] [--seed S] [--quick]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pulse_stats as ps
from pulse_stats.simulation import (
    SimulationDesign,
    expected_unit_correlation,
    observed_scale_icc,
    simulate_panel,
    simulate_survey,
)
from scipy import stats

MAIN = SimulationDesign(n_units=40, driver_correlations=(0.5,))
NULL = SimulationDesign(n_units=40, driver_correlations=(0.0,))
DRIVERS = SimulationDesign(n_units=100, driver_correlations=(0.4,) * 5 + (0.0,) * 15)
POWER_UNITS = (20, 40, 80, 160)
LEVEL = 0.95
ALPHA = 0.05


@dataclass(frozen=True)
class Row:
    section: str
    check: str
    estimate: str
    target: str
    criterion: str
    status: str  # PASS, FAIL or INFO


def mc_se(p: float, n: int) -> float:
    """Monte-Carlo standard error of a proportion estimated from n replicates."""
    return math.sqrt(max(p * (1.0 - p), 1e-12) / n)


def rate_window(nominal: float, replicates: int) -> float:
    """Half-width for a nominal rate: 1 point at 2,000 replicates, widened as 1/sqrt(N) below."""
    return max(0.01, 0.01 * math.sqrt(2000.0 / replicates))


def judged(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def expected_power(rho: float, n_units: int) -> float:
    """Two-sided power of the t-test of rho = 0 for bivariate-normal pairs.

    Fisher-z approximation with the bias term r/(2(n-1)) and the exact t critical value
    (Cohen 1988, ch. 3; as R pwr::pwr.r.test and pingouin.power_corr); within 0.2 points
    of the exact power for n >= 20.
    """
    dof = n_units - 2
    t_crit = float(stats.t.ppf(1.0 - ALPHA / 2.0, dof))
    z_crit = math.atanh(math.sqrt(t_crit**2 / (t_crit**2 + dof)))
    z_rho = math.atanh(rho) + rho / (2.0 * (n_units - 1))
    scale = math.sqrt(n_units - 3)
    return float(
        stats.norm.cdf((z_rho - z_crit) * scale) + stats.norm.cdf((-z_rho - z_crit) * scale)
    )


class Progress:
    """Replicate progress on stderr (roughly every 10%)."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.start = label, total, time.monotonic()
        self.step = max(1, total // 10)

    def tick(self, done: int) -> None:
        if done % self.step == 0 or done == self.total:
            elapsed = time.monotonic() - self.start
            print(
                f"  {self.label}: {done}/{self.total} replicates ({elapsed:.1f}s)",
                file=sys.stderr,
                flush=True,
            )


def replicate_loop(label: str, replicates: int, body: Callable[[int], None]) -> None:
    progress = Progress(label, replicates)
    for i in range(replicates):
        body(i)
        progress.tick(i + 1)


def unit_level_p(design: SimulationDesign, rng: np.random.Generator) -> float:
    """p-value of the unit-level correlation in one simulated study."""
    sample = simulate_survey(design, random_state=rng)
    return ps.correlation(sample.employee_means()[:, 0], sample.customer_means()).p_value


def study_main(replicates: int, rng: np.random.Generator, target: float, boot: int) -> list[Row]:
    """Recovery, coverage, bootstrap coverage, disattenuation and ICC on the main design."""
    design = MAIN
    latent = design.driver_correlations[0]
    rs = np.empty(replicates)
    covered = np.zeros(replicates, dtype=bool)
    covered_latent = np.zeros(replicates, dtype=bool)
    boot_covered = np.zeros(replicates, dtype=bool)
    corrected = np.empty(replicates)
    icc_raw = np.empty(replicates)
    icc_summary = np.empty(replicates)
    boot_every = max(1, replicates // 500)  # bootstrap a subset: it dominates the runtime
    boot_done = 0

    def body(i: int) -> None:
        nonlocal boot_done
        sample = simulate_survey(design, random_state=rng)
        x = sample.employee_means()[:, 0]
        y = sample.customer_means()
        res = ps.correlation(x, y, confidence_level=LEVEL)
        rs[i] = res.r
        covered[i] = res.ci_low <= target <= res.ci_high
        covered_latent[i] = res.ci_low <= latent <= res.ci_high
        emp = ps.icc(sample.employee_unit, sample.employee_items[:, 0])
        counts = np.bincount(sample.customer_unit, minlength=sample.n_units)
        sums = np.bincount(sample.customer_unit, weights=sample.customer_scores)
        squares = np.bincount(sample.customer_unit, weights=sample.customer_scores**2)
        cus = ps.icc_from_summaries(counts, sums, squares)
        icc_raw[i] = emp.icc1
        icc_summary[i] = cus.icc1
        rel_x, rel_y = max(emp.icc2, 1e-3), max(cus.icc2, 1e-3)
        corrected[i] = ps.disattenuated(res.r, min(rel_x, 1.0), min(rel_y, 1.0))
        if i % boot_every == 0:
            b = ps.bootstrap_correlation(x, y, n_resamples=boot, random_state=rng)
            boot_covered[boot_done] = b.ci_low <= target <= b.ci_high
            boot_done += 1

    replicate_loop("main design (J=40)", replicates, body)
    n_units = design.n_units
    mean_r = float(rs.mean())
    se_r = float(rs.std(ddof=1)) / math.sqrt(replicates)
    op_bias = -target * (1.0 - target**2) / (2.0 * n_units)  # Olkin & Pratt (1958)
    rec_tol = 3.0 * se_r + abs(op_bias)
    cov = float(covered.mean())
    w = rate_window(LEVEL, replicates)
    cov_lat = float(covered_latent.mean())
    boot_cov = float(boot_covered[:boot_done].mean())
    icc_e_target = observed_scale_icc(design.icc_employee, design)
    icc_c_target = observed_scale_icc(design.icc_customer, design)
    icc_tol = 0.01
    return [
        Row(
            "recovery",
            f"mean unit-level r, J={n_units}",
            f"{mean_r:.4f}",
            f"{target:.4f}",
            f"|diff| <= {rec_tol:.4f} (3 MCSE + O-P bias)",
            judged(abs(mean_r - target) <= rec_tol),
        ),
        Row(
            "coverage",
            f"95% Fisher-z CI covers target, J={n_units}",
            f"{cov:.2%}",
            "95.00%",
            f"{LEVEL - w:.1%} to {LEVEL + w:.1%}",
            judged(abs(cov - LEVEL) <= w),
        ),
        Row(
            "coverage",
            f"same CI covers the latent rho={latent} (attenuation)",
            f"{cov_lat:.2%}",
            "(not a target)",
            "expected far below 95%",
            "INFO",
        ),
        Row(
            "coverage",
            f"BCa bootstrap ({boot} resamples, {boot_done} reps) covers target",
            f"{boot_cov:.2%}",
            "95.00%",
            f"MCSE {mc_se(boot_cov, boot_done):.1%}",
            "INFO",
        ),
        Row(
            "recovery",
            "median disattenuated r (ICC(2) reliabilities)",
            f"{float(np.median(corrected)):.4f}",
            f"{latent:.4f}",
            "rounding attenuation remains",
            "INFO",
        ),
        Row(
            "icc",
            "mean ICC(1) employees (raw answers)",
            f"{float(icc_raw.mean()):.4f}",
            f"{icc_e_target:.4f}",
            f"|diff| <= {icc_tol}",
            judged(abs(float(icc_raw.mean()) - icc_e_target) <= icc_tol),
        ),
        Row(
            "icc",
            "mean ICC(1) customers (unit summaries)",
            f"{float(icc_summary.mean()):.4f}",
            f"{icc_c_target:.4f}",
            f"|diff| <= {icc_tol}",
            judged(abs(float(icc_summary.mean()) - icc_c_target) <= icc_tol),
        ),
    ]


def study_null(replicates: int, rng: np.random.Generator, permutations: int) -> list[Row]:
    """False-positive rate at rho = 0 (t-test and permutation test)."""
    t_hits = np.zeros(replicates, dtype=bool)
    perm_hits = np.zeros(replicates, dtype=bool)

    def body(i: int) -> None:
        sample = simulate_survey(NULL, random_state=rng)
        x = sample.employee_means()[:, 0]
        y = sample.customer_means()
        t_hits[i] = ps.correlation(x, y).p_value < ALPHA
        perm = ps.permutation_correlation(x, y, n_resamples=permutations, random_state=rng)
        perm_hits[i] = perm.p_value <= ALPHA

    replicate_loop("null design (rho=0)", replicates, body)
    w = rate_window(ALPHA, replicates)
    rows = []
    for label, hits in (("t-test", t_hits), (f"permutation ({permutations})", perm_hits)):
        rate = float(hits.mean())
        rows.append(
            Row(
                "null",
                f"false-positive rate, {label}, J={NULL.n_units}",
                f"{rate:.2%}",
                "5.00%",
                f"{ALPHA - w:.1%} to {ALPHA + w:.1%}",
                judged(abs(rate - ALPHA) <= w),
            )
        )
    return rows


def study_fdr(replicates: int, rng: np.random.Generator, target_true: float) -> list[Row]:
    """BH and BY across 20 drivers, 5 with a true unit-level association."""
    n_true = sum(1 for r in DRIVERS.driver_correlations if r != 0)
    m = len(DRIVERS.driver_correlations)
    fdp = {"bh": np.empty(replicates), "by": np.empty(replicates), "raw": np.empty(replicates)}
    tdr = {"bh": np.empty(replicates), "by": np.empty(replicates), "raw": np.empty(replicates)}

    def body(i: int) -> None:
        sample = simulate_survey(DRIVERS, random_state=rng)
        xs = sample.employee_means()
        y = sample.customer_means()
        p = np.array([ps.correlation(xs[:, k], y).p_value for k in range(m)])
        decisions = {"bh": ps.fdr(p, method="bh") <= ALPHA, "by": ps.fdr(p, method="by") <= ALPHA}
        decisions["raw"] = p <= ALPHA
        for key, rejected in decisions.items():
            fdp[key][i] = rejected[n_true:].sum() / max(int(rejected.sum()), 1)
            tdr[key][i] = rejected[:n_true].mean()

    replicate_loop(f"{m} drivers ({n_true} true)", replicates, body)
    bh = float(fdp["bh"].mean())
    bh_se = float(fdp["bh"].std(ddof=1)) / math.sqrt(replicates)
    bound = ALPHA * (m - n_true) / m
    return [
        Row(
            "fdr",
            f"BH false-discovery proportion, {m} drivers ({n_true} true), J={DRIVERS.n_units}",
            f"{bh:.2%}",
            f"<= {bound:.2%}",
            f"<= {ALPHA:.0%} + 2 MCSE ({ALPHA + 2 * bh_se:.2%})",
            judged(bh <= ALPHA + 2 * bh_se),
        ),
        Row(
            "fdr",
            "BY false-discovery proportion",
            f"{float(fdp['by'].mean()):.2%}",
            f"<= {ALPHA:.0%}",
            "any dependence",
            judged(float(fdp["by"].mean()) <= ALPHA + 2 * bh_se),
        ),
        Row(
            "fdr",
            "unadjusted p<.05 false-discovery proportion",
            f"{float(fdp['raw'].mean()):.2%}",
            "(no control)",
            "why adjustment matters",
            "INFO",
        ),
        Row(
            "fdr",
            f"share of true drivers found: BH / BY / unadjusted (target r={target_true:.3f})",
            f"{float(tdr['bh'].mean()):.1%} / {float(tdr['by'].mean()):.1%} / "
            f"{float(tdr['raw'].mean()):.1%}",
            "",
            "",
            "INFO",
        ),
    ]


def study_power(replicates: int, rng: np.random.Generator, target: float) -> list[Row]:
    """Rejection rate by number of units vs the Fisher-z approximation."""
    rows = []
    needed = ps.units_needed(target, alpha=ALPHA, power=0.8)
    for n_units in (*POWER_UNITS, needed):
        design = SimulationDesign(
            n_units=n_units,
            driver_correlations=MAIN.driver_correlations,
            icc_employee=MAIN.icc_employee,
            icc_customer=MAIN.icc_customer,
        )
        hits = np.zeros(replicates, dtype=bool)

        def body(i: int, design: SimulationDesign = design, hits: np.ndarray = hits) -> None:
            hits[i] = unit_level_p(design, rng) < ALPHA

        replicate_loop(f"power J={n_units}", replicates, body)
        rate = float(hits.mean())
        expected = expected_power(target, n_units)
        tol = 3.0 * mc_se(expected, replicates) + 0.02
        label = (
            f"power, J={n_units}"
            if n_units != needed
            else f"power at units_needed(r={target:.3f}) = {needed}"
        )
        rows.append(
            Row(
                "power",
                label,
                f"{rate:.1%}",
                f"{expected:.1%}",
                f"|diff| <= {tol:.1%} (3 MCSE + 2 pts)",
                judged(abs(rate - expected) <= tol),
            )
        )
    return rows


def study_lag(replicates: int, rng: np.random.Generator) -> list[Row]:
    """Lagged correlations and cross-lagged regressions on a panel with a true lag of 1."""
    design = SimulationDesign(n_units=60, driver_correlations=(0.4,))
    reps = max(50, replicates // 4)
    right_lag = np.zeros(reps, dtype=bool)
    found = {True: np.zeros(reps, dtype=bool), False: np.zeros(reps, dtype=bool)}
    spurious = {True: np.zeros(reps, dtype=bool), False: np.zeros(reps, dtype=bool)}

    def body(i: int) -> None:
        panel = simulate_panel(design, n_periods=6, lag=1, autocorrelation=0.3, random_state=rng)
        lags = ps.lagged_correlations(
            panel.unit, panel.period, panel.predictor, panel.outcome, max_lag=2
        )
        best = max(lags, key=lambda res: res.r if not math.isnan(res.r) else -2.0)
        right_lag[i] = best.lag == 1
        for fe in (True, False):
            cl = ps.cross_lagged(
                panel.unit, panel.period, panel.predictor, panel.outcome, fixed_effects=fe
            )
            path = cl.predictor_to_outcome
            found[fe][i] = path.p_value < ALPHA and path.estimate > 0
            spurious[fe][i] = cl.outcome_to_predictor.p_value < ALPHA

    replicate_loop("panel (true lag 1)", reps, body)
    rows = [
        Row(
            "lag",
            "largest lagged r at the true lag (+1), 60 units x 6 periods",
            f"{float(right_lag.mean()):.1%}",
            "high",
            f"{reps} reps",
            "INFO",
        )
    ]
    for fe, label in ((True, "unit fixed effects"), (False, "pooled OLS")):
        rows.append(
            Row(
                "lag",
                f"cross-lagged {label}: true path x->y found / absent path y->x 'found'",
                f"{float(found[fe].mean()):.1%} / {float(spurious[fe].mean()):.1%}",
                "high / 5%",
                "Nickell bias (FE), measurement error",
                "INFO",
            )
        )
    return rows


def print_table(rows: list[Row], header: str) -> None:
    cols = ("section", "check", "estimate", "target", "criterion", "status")
    table = [cols] + [
        (r.section, r.check, r.estimate, r.target, r.criterion, r.status) for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(cols))]
    print(header)
    for k, line in enumerate(table):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))


def run(replicates: int, seed: int, quick: bool) -> int:
    seeds = np.random.SeedSequence(seed).spawn(7)
    mc_units = 200_000 if quick else 1_000_000
    boot = 499 if quick else 999
    start = time.monotonic()
    print("computing Monte-Carlo targets ...", file=sys.stderr, flush=True)
    target = expected_unit_correlation(
        MAIN, n_units=mc_units, random_state=np.random.default_rng(seeds[0])
    )
    target_true = expected_unit_correlation(
        DRIVERS, n_units=mc_units // 4, random_state=np.random.default_rng(seeds[6])
    )
    rows: list[Row] = []
    rows += study_main(replicates, np.random.default_rng(seeds[1]), target, boot)
    rows += study_null(replicates, np.random.default_rng(seeds[2]), 999)
    rows += study_fdr(replicates, np.random.default_rng(seeds[3]), target_true)
    rows += study_power(replicates, np.random.default_rng(seeds[4]), target)
    rows += study_lag(replicates, np.random.default_rng(seeds[5]))
    elapsed = time.monotonic() - start
    header = (
        f"pulse_stats simulation study: {replicates} replicates, seed {seed}, "
        f"Monte-Carlo target from {mc_units:,} units, {elapsed:.0f}s\n"
        f"design: latent r={MAIN.driver_correlations[0]}, ICC employees "
        f"{MAIN.icc_employee}, customers {MAIN.icc_customer}, mean unit size "
        f"{MAIN.mean_employees:g} employees / {MAIN.mean_customers:g} customers (CV "
        f"{MAIN.size_cv}), 1-{MAIN.scale_points} Likert\n"
    )
    print_table(rows, header)
    failed = [r for r in rows if r.status == "FAIL"]
    print(f"\n{len(rows) - len(failed)} of {len(rows)} lines OK; {len(failed)} FAIL")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--replicates", type=int, default=None, help="default 2000 (200 quick)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--quick", action="store_true", help="200 replicates, smaller targets")
    args = parser.parse_args(argv)
    replicates = args.replicates or (200 if args.quick else 2000)
    if replicates < 20:
        parser.error("--replicates must be at least 20")
    return run(replicates, args.seed, args.quick)


if __name__ == "__main__":
    sys.exit(main())
