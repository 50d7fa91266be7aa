"""Repeated-measures correlation on the rmcorr package's bland1995 data set."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pingouin as pg
import pulse_stats as ps
import pytest
from scipy import stats

# pingouin 0.7 triggers pandas deprecation warnings that are not ours.
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")

# R rmcorr::bland1995 (Bland & Altman 1995, BMJ 310:446): 8 subjects, 47 observations.
# Identical to pingouin.read_dataset("rm_corr").
SUBJECT = [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 5, 5]
SUBJECT += [5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 7, 7, 7, 8, 8, 8, 8, 8, 8, 8, 8]
PH = [6.68, 6.53, 6.43, 6.33, 6.85, 7.06, 7.13, 7.17, 7.4, 7.42, 7.41, 7.37, 7.34, 7.35]
PH += [7.28, 7.3, 7.34, 7.36, 7.33, 7.29, 7.3, 7.35, 7.35, 7.3, 7.3, 7.37, 7.27, 7.28]
PH += [7.32, 7.32, 7.38, 7.3, 7.29, 7.33, 7.31, 7.33, 6.86, 6.94, 6.92, 7.19, 7.29, 7.21]
PH += [7.25, 7.2, 7.19, 6.77, 6.82]
PACO2 = [3.97, 4.12, 4.09, 3.97, 5.27, 5.37, 5.41, 5.44, 5.67, 3.64, 4.32, 4.73, 4.96]
PACO2 += [5.04, 5.22, 4.82, 5.07, 5.67, 5.1, 5.53, 4.75, 5.51, 4.28, 4.44, 4.32, 3.23]
PACO2 += [4.46, 4.72, 4.75, 4.99, 4.78, 4.73, 5.12, 4.93, 5.03, 4.93, 6.85, 6.44, 6.52]
PACO2 += [5.28, 4.56, 4.34, 4.32, 4.41, 3.69, 6.09, 5.58]


def test_matches_published_rmcorr_output() -> None:
    # Source: R rmcorr README / ?rmcorr example, rmcorr(Subject, PacO2, pH, bland1995):
    # r = -0.5067697, degrees of freedom 38, p-value 0.0008471081.
    res = ps.repeated_measures_correlation(SUBJECT, PH, PACO2)
    assert res.r == pytest.approx(-0.5067697, abs=5e-8)
    assert res.dof == 38
    assert res.p_value == pytest.approx(0.0008471081, abs=5e-11)
    assert res.n == 47
    assert res.method == "rmcorr"
    assert isinstance(res, ps.CorrelationResult)


def test_interval_matches_current_rmcorr_and_pingouin() -> None:
    # rmcorr >= 0.5.0 computes the CI as psych::r.con(r, df + 2) (its vignette calls the
    # older r.con(r, df) "incorrect"; that old README printed -0.7112297 -0.223255).
    # pingouin.rm_corr uses the same n = dof + 2 and prints [-0.71, -0.23].
    res = ps.repeated_measures_correlation(SUBJECT, PH, PACO2)
    z = stats.norm.ppf(0.975)
    se = 1 / math.sqrt(40 - 3)
    assert res.ci_low == pytest.approx(math.tanh(math.atanh(res.r) - z * se), rel=1e-12)
    assert res.ci_high == pytest.approx(math.tanh(math.atanh(res.r) + z * se), rel=1e-12)
    assert (round(res.ci_low, 2), round(res.ci_high, 2)) == (-0.71, -0.23)
    # The superseded interval r.con(r, df), reproduced for the record:
    z_old = math.atanh(res.r)
    assert math.tanh(z_old - z / math.sqrt(35)) == pytest.approx(-0.7112297, abs=5e-7)
    assert math.tanh(z_old + z / math.sqrt(35)) == pytest.approx(-0.223255, abs=5e-7)


def test_matches_pingouin_full_precision() -> None:
    # Source: pingouin.rm_corr (ANCOVA implementation, tested against R rmcorr).
    df = pd.DataFrame({"Subject": SUBJECT, "pH": PH, "PacO2": PACO2})
    ref = pg.rm_corr(data=df, x="pH", y="PacO2", subject="Subject")
    res = ps.repeated_measures_correlation(SUBJECT, PH, PACO2)
    assert res.r == pytest.approx(float(ref["r"].iloc[0]), rel=1e-10)
    assert res.p_value == pytest.approx(float(ref["pval"].iloc[0]), rel=1e-8)
    assert res.dof == int(ref["dof"].iloc[0])


def test_symmetric_and_label_type_agnostic() -> None:
    labels = [f"patient-{s}" for s in SUBJECT]
    a = ps.repeated_measures_correlation(labels, PH, PACO2)
    b = ps.repeated_measures_correlation(SUBJECT, PACO2, PH)
    assert a.r == pytest.approx(b.r, rel=1e-12)
    assert a.p_value == pytest.approx(b.p_value, rel=1e-10)


def test_missing_rows_dropped() -> None:
    ph = np.array(PH)
    ph[3] = np.nan
    subject = np.array(SUBJECT, dtype=object)
    subject[10] = None
    res = ps.repeated_measures_correlation(subject, ph, PACO2)
    keep = np.ones(47, dtype=bool)
    keep[[3, 10]] = False
    ref = ps.repeated_measures_correlation(
        np.array(SUBJECT)[keep], np.array(PH)[keep], np.array(PACO2)[keep]
    )
    assert res.n == 45
    assert res == ref


def test_invalid_input() -> None:
    with pytest.raises(ValueError, match="subject and x must have the same length"):
        ps.repeated_measures_correlation(SUBJECT[:-1], PH, PACO2)
    with pytest.raises(ValueError, match="residual degrees of freedom"):
        ps.repeated_measures_correlation([1, 1, 2, 2], [1, 2, 3, 4], [2, 1, 4, 3])
    with pytest.raises(ValueError, match="x is constant within every subject"):
        ps.repeated_measures_correlation([1, 1, 1, 2, 2, 2], [1, 1, 1, 5, 5, 5], [1, 2, 3, 4, 5, 7])
