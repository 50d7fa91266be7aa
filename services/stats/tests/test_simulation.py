"""The generative model, a fast simulation study and the full (slow) validation script."""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pulse_stats as ps
import pytest
from pulse_stats.simulation import (
    OrganisationDesign,
    OrganisationSample,
    SimulationDesign,
    expected_unit_correlation,
    observed_scale_icc,
    simulate_organisation,
    simulate_panel,
    simulate_survey,
)

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "validate_stats.py"


def test_generator_is_deterministic_and_well_formed() -> None:
    design = SimulationDesign(n_units=30, driver_correlations=(0.3, 0.0))
    a = simulate_survey(design, random_state=42)
    b = simulate_survey(design, random_state=np.random.default_rng(42))
    np.testing.assert_array_equal(a.employee_items, b.employee_items)
    np.testing.assert_array_equal(a.customer_scores, b.customer_scores)
    assert a.employee_items.shape[1] == 2
    assert set(np.unique(a.employee_items)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    sizes = np.bincount(a.employee_unit, minlength=30)
    assert sizes.min() >= design.min_size
    assert np.ptp(sizes) > 0  # unequal unit sizes
    assert a.employee_means().shape == (30, 2)
    assert a.customer_means().shape == (30,)


def test_expected_unit_correlation_equals_spearman_attenuation_without_rounding() -> None:
    # With a near-continuous scale and fixed unit sizes the target is analytic:
    # rho_obs = rho * sqrt(rel_x rel_y), rel = icc / (icc + (1 - icc)/n) (Spearman 1904).
    design = SimulationDesign(
        n_units=10,
        driver_correlations=(0.6,),
        icc_employee=0.2,
        icc_customer=0.1,
        mean_employees=10,
        mean_customers=20,
        size_cv=0.0,
        scale_points=100_000,
        location=50_000,
        spread=1_000,
    )
    rel_x = 0.2 / (0.2 + 0.8 / 10)
    rel_y = 0.1 / (0.1 + 0.9 / 20)
    target = expected_unit_correlation(design, n_units=200_000, random_state=1)
    assert np.ptp(np.bincount(simulate_survey(design, random_state=0).employee_unit)) == 0
    assert target == pytest.approx(0.6 * math.sqrt(rel_x * rel_y), abs=0.005)


def test_observed_scale_icc_matches_large_sample_anova() -> None:
    design = SimulationDesign(n_units=3000, driver_correlations=(0.0,), icc_employee=0.15)
    sample = simulate_survey(design, random_state=7)
    estimate = ps.icc(sample.employee_unit, sample.employee_items[:, 0]).icc1
    assert estimate == pytest.approx(observed_scale_icc(0.15, design), abs=0.01)
    assert observed_scale_icc(0.15, design) < 0.15  # rounding attenuates the ICC


def test_fast_simulation_study() -> None:
    # 200 replicates; tolerances are 3 Monte-Carlo standard errors.
    reps = 200
    design = SimulationDesign(n_units=40, driver_correlations=(0.5,))
    null = SimulationDesign(n_units=40, driver_correlations=(0.0,))
    target = expected_unit_correlation(design, n_units=200_000, random_state=3)
    rng = np.random.default_rng(2024)
    rs, covered, false_pos = [], [], []
    for _ in range(reps):
        s = simulate_survey(design, random_state=rng)
        res = ps.correlation(s.employee_means()[:, 0], s.customer_means())
        rs.append(res.r)
        covered.append(res.ci_low <= target <= res.ci_high)
        s0 = simulate_survey(null, random_state=rng)
        false_pos.append(
            ps.correlation(s0.employee_means()[:, 0], s0.customer_means()).p_value < 0.05
        )
    se_cov = math.sqrt(0.95 * 0.05 / reps)
    se_fp = math.sqrt(0.05 * 0.95 / reps)
    assert abs(np.mean(covered) - 0.95) <= 3 * se_cov
    assert abs(np.mean(false_pos) - 0.05) <= 3 * se_fp
    assert abs(np.mean(rs) - target) <= 3 * np.std(rs) / math.sqrt(reps) + 0.005

    drivers = SimulationDesign(n_units=100, driver_correlations=(0.4,) * 5 + (0.0,) * 15)
    fdp = []
    for _ in range(reps // 2):
        s = simulate_survey(drivers, random_state=rng)
        xs, y = s.employee_means(), s.customer_means()
        q = ps.fdr([ps.correlation(xs[:, k], y).p_value for k in range(20)])
        rejected = q <= 0.05
        fdp.append(rejected[5:].sum() / max(rejected.sum(), 1))
    assert np.mean(fdp) <= 0.05 + 3 * np.std(fdp) / math.sqrt(len(fdp))


def test_panel_generator_puts_the_peak_at_the_true_lag() -> None:
    design = SimulationDesign(n_units=80, driver_correlations=(0.6,))
    panel = simulate_panel(design, n_periods=6, lag=2, autocorrelation=0.2, random_state=5)
    lags = ps.lagged_correlations(
        panel.unit, panel.period, panel.predictor, panel.outcome, max_lag=3
    )
    assert max(lags, key=lambda r: r.r).lag == 2


def test_validation_script_quick_mode_passes() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FAIL" not in proc.stdout.split("lines OK")[0]
    assert "coverage" in proc.stdout
    assert "replicates" in proc.stderr


@pytest.mark.slow
def test_validation_script_full_2000_replicates() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--replicates", "2000"],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 FAIL" in proc.stdout


def test_organisation_generator_is_deterministic_and_consistent() -> None:
    design = OrganisationDesign(n_units=20, n_periods=4, n_predictors=3, items=2)
    a = simulate_organisation(design, random_state=11)
    b = simulate_organisation(design, random_state=np.random.default_rng(11))
    np.testing.assert_array_equal(a.score_sum, b.score_sum)
    np.testing.assert_array_equal(a.customer_sum, b.customer_sum)
    assert a.score_sum.shape == (3, 20, 4)
    assert a.item_sum.shape == (3, 2, 20, 4)
    # A construct score is the mean of its items mapped to 0-100.
    items_as_score = (a.item_sum.sum(axis=1) / 2 - a.employee_n) / 4 * 100
    np.testing.assert_allclose(a.score_sum, items_as_score, atol=1e-9)
    assert (a.customer_n >= design.min_size).all()
    assert (a.customer_top2 <= a.customer_n).all()
    with pytest.raises(ValueError, match="link must be one of"):
        OrganisationDesign(link="sideways")  # type: ignore[arg-type]


def _within(org: OrganisationSample, k: int, max_lag: int) -> tuple[ps.WithinUnitLag, ...]:
    ok = (org.employee_n > 0) & (org.customer_n > 0)
    unit, period = np.nonzero(ok)
    x = org.score_sum[k][ok] / org.employee_n[ok]
    y = org.customer_sum[ok] / org.customer_n[ok]
    return ps.within_unit_lags(unit, period, x, y, max_lag=max_lag)


def test_organisation_links_appear_at_their_lag() -> None:
    base = OrganisationDesign(n_units=150, n_periods=10, n_predictors=2, r=0.6, icc_employee=0.3)
    leading = simulate_organisation(replace(base, link="leading"), random_state=1)
    lags = {res.lag: res.r for res in _within(leading, 0, 1)}
    assert lags[1] > max(lags[0], lags[-1])
    assert lags[1] > 0.2
    reverse = simulate_organisation(replace(base, link="reverse"), random_state=2)
    lags = {res.lag: res.r for res in _within(reverse, 0, 1)}
    assert lags[-1] > max(lags[0], lags[1])
    assert lags[-1] > 0.2
    none = simulate_organisation(base, random_state=3)
    assert all(abs(res.r) < 0.1 for res in _within(none, 0, 1))


def test_organisation_confounder_links_units_but_not_months() -> None:
    design = OrganisationDesign(
        n_units=300, n_periods=6, n_predictors=2, confounding=0.5, icc_employee=0.3
    )
    org = simulate_organisation(design, random_state=4)
    n = org.employee_n.sum(axis=1)
    x, workload = org.score_sum[0].sum(axis=1) / n, org.score_sum[1].sum(axis=1) / n
    y = org.customer_sum.sum(axis=1) / org.customer_n.sum(axis=1)
    raw = ps.correlation(x, y).r
    adjusted = ps.partial_correlation(x, y, workload).r
    assert raw > 0.25
    assert adjusted < raw - 0.15
    assert abs(_within(org, 0, 0)[0].r) < 0.1  # a stable confounder moves no month
