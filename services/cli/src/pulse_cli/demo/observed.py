"""What a report over the generated answers sees: unit means over the analysis window, and
the generator's own Monte Carlo of the correlation that survives attenuation (sampling within
units, Likert rounding, unequal sizes, response rates), ``expected_observed_r``: the
parameter that a report's Pearson r over observed unit means estimates. Pure numpy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pulse_cli.demo.answers import construct_scores
from pulse_cli.demo.config import DemoConfig
from pulse_cli.demo.items import DEFAULT_BANK, ItemBank
from pulse_cli.demo.latent import FloatArray, pooled_r
from pulse_cli.demo.simulation import BoolArray, Core, IntArray, simulate


@dataclass(frozen=True)
class UnitMeans:
    """Observed unit means over the analysis window (units with >= k on both sides)."""

    teams: IntArray
    predictor: FloatArray
    outcome: FloatArray
    n_employee: IntArray
    n_customer: IntArray

    def correlation(self) -> float:
        if self.teams.size < 3:
            return float("nan")
        return float(np.corrcoef(self.predictor, self.outcome)[0, 1])


def unit_means(
    core: Core,
    config: DemoConfig,
    bank: ItemBank,
    lag: int,
    invited: BoolArray | None = None,
) -> UnitMeans:
    """Predictor over periods [0, P - 1 - lag] against outcome over [lag, P - 1]; customers
    count when invited (``invited``, else the sampling stand-in) and responding."""
    periods = config.periods
    n_teams = core.team_size.size
    emp = core.ans_responds & (core.ans_period <= periods - 1 - lag)
    x = construct_scores(core.ans_scores[emp], bank.employee, config.predictor)
    x_team = core.emp_team[core.ans_emp[emp]]
    asked = core.int_sampled if invited is None else invited
    cus = core.int_responds & asked & (core.int_period >= lag)
    y = construct_scores(core.int_scores[cus], bank.customer, config.outcome)
    y_team = core.int_team[cus]
    nx = np.bincount(x_team, minlength=n_teams)
    ny = np.bincount(y_team, minlength=n_teams)
    keep = np.flatnonzero((nx >= config.min_group_size) & (ny >= config.min_group_size))
    sx = np.bincount(x_team, weights=x, minlength=n_teams)
    sy = np.bincount(y_team, weights=y, minlength=n_teams)
    return UnitMeans(
        teams=keep,
        predictor=sx[keep] / nx[keep],
        outcome=sy[keep] / ny[keep],
        n_employee=nx[keep],
        n_customer=ny[keep],
    )


def expected_observed_r(
    config: DemoConfig,
    seed: int,
    replicates: int = 200,
    bank: ItemBank = DEFAULT_BANK,
    lag: int = 0,
) -> float:
    """Monte Carlo of the population correlation of observed unit means (the parameter a
    report's Pearson r estimates): ``replicates`` fresh organisations of this config, units
    pooled. ``lag`` = 0 pairs both sides over the whole range, as the report's headline
    estimate does; ``lag`` = L pairs predictor months [0, P - 1 - L] with outcome months
    [L, P - 1]."""
    if replicates < 1:
        raise ValueError("replicates must be >= 1")
    xs, ys = [], []
    for child in np.random.SeedSequence([seed, 0x5EED]).spawn(replicates):
        core = simulate(config, int(child.generate_state(1)[0]), bank)
        means = unit_means(core, config, bank, lag)
        xs.append(means.predictor - means.predictor.mean())
        ys.append(means.outcome - means.outcome.mean())
    return pooled_r(xs, ys)
