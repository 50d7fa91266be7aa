"""The latent model of the demo: unit-level values with a planted truth. Pure numpy, no I/O.

Unit = team, period = month; every process below is standardised and has the same covariance
structure over time: a stable team part with share ``stability`` plus a stationary AR(1)
monthly part with ``autocorrelation``.

* W (workload), U (management quality), E (customer-side noise) and one unique process per
  treatment construct are independent; a front-line team's U carries ``serves_share`` of the
  U of the back-office team that serves it (the back office serves its front line);
* each treatment construct is ``a (-W) + u U + sqrt(1 - a^2 - u^2) unique`` with its
  loadings ``(a, u)`` in ``LOADINGS``: workload depresses support and fairness (the
  confounder), recognition and voice share management quality with them, growth is
  independent of everything; the other employee constructs share one ``climate`` value;
* the customer outcome O(t) = b_s sign S(t - lag) + b_f F(t - lag) + b_w (-W(t - lag))
  + s E(t) with the planted direct effects of ``DemoConfig`` (support, fairness, workload),
  sign = -1 for the teams of the ``reverse_region`` (support works the other way there) and s
  making Var(O) = 1 (``outcome_weights``);
* one team's action on support works: its support rises by ``action_effect`` (latent SD) from
  the action's month, and its customers notice a month later; another team's action on
  workload changes nothing.

Which correlation a report over these values should find (the estimand of each driver) is
``observed.expected_driver_r``: a Monte Carlo, because attenuation, the reverse region and
the lag make closed forms fragile. How people's answers follow these values is ``answers``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pulse_common.measures import TREATMENT_CONSTRUCTS

from pulse_cli.demo.config import DemoConfig

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

SUPPORT, FAIRNESS, WORKLOAD = "treatment.support", "treatment.fairness", "treatment.workload"
RECOGNITION, VOICE, GROWTH = "treatment.recognition", "treatment.voice", "treatment.growth"
CLIMATE = "climate"  # every employee construct that is not a treatment construct
# Loadings (on -W, on U) of each construct's latent value; the rest is its own process.
LOADINGS: dict[str, tuple[float, float]] = {
    SUPPORT: (0.35, 0.55),
    FAIRNESS: (0.35, 0.45),
    WORKLOAD: (0.85, 0.0),
    RECOGNITION: (0.0, 0.6),
    VOICE: (0.1, 0.5),
    GROWTH: (0.0, 0.0),
    CLIMATE: (0.2, 0.5),
}


def latent_key(construct: str) -> str:
    """The latent value an employee construct's items follow."""
    return construct if construct in TREATMENT_CONSTRUCTS else CLIMATE


def outcome_weights(
    config: DemoConfig, reversed_support: bool
) -> tuple[float, float, float, float]:
    """(b_s, b_f, b_w, s): weights of S, F, -W and E in O so that Var(O) = 1."""
    b = np.array(
        [
            -config.support_effect if reversed_support else config.support_effect,
            config.fairness_effect,
            config.workload_effect,
        ]
    )
    (a_s, u_s), (a_f, u_f) = LOADINGS[SUPPORT], LOADINGS[FAIRNESS]
    cov = np.array(
        [
            [1.0, a_s * a_f + u_s * u_f, a_s],
            [a_s * a_f + u_s * u_f, 1.0, a_f],
            [a_s, a_f, 1.0],
        ]
    )
    explained = float(b @ cov @ b)
    if explained >= 1.0:
        raise ValueError("the planted effects explain more than all of the outcome's variance")
    return float(b[0]), float(b[1]), float(b[2]), math.sqrt(1.0 - explained)


@dataclass(frozen=True)
class Latent:
    """Unit-level latent values, one row per team (``Organisation.teams`` order).

    ``constructs`` (by ``latent_key``) and ``workload`` have ``lag`` extra leading columns
    (the months before the first generated one), so column ``p + lag`` is period ``p``;
    ``outcome`` column ``p`` is period ``p`` and is driven by column ``p`` of the others
    (period ``p - lag``)."""

    constructs: dict[str, FloatArray]
    workload: FloatArray
    outcome: FloatArray
    lag: int
    reversed_teams: BoolArray  # teams of the reverse region

    @property
    def treatment(self) -> FloatArray:
        """The support construct (the headline driver)."""
        return self.constructs[SUPPORT]

    def construct_in(self, construct: str, period: int) -> FloatArray:
        return self.constructs[latent_key(construct)][:, period + self.lag]

    def employee_latent(self, period: int, constructs: Sequence[str]) -> FloatArray:
        """(teams x len(constructs)) latent values of ``period`` for items of ``constructs``."""
        return np.stack([self.construct_in(c, period) for c in constructs], axis=1)

    def unit_correlation(
        self, construct: str = SUPPORT, rows: Sequence[int] | None = None
    ) -> float:
        """Correlation over teams of the window means of construct(t - lag) and O(t)."""
        chosen = slice(None) if rows is None else list(rows)
        x = self.constructs[latent_key(construct)][chosen, : self.outcome.shape[1]].mean(axis=1)
        y = self.outcome[chosen].mean(axis=1)
        return float(np.corrcoef(x, y)[0, 1])


def _process(
    rng: np.random.Generator, n: int, cols: int, stability: float, phi: float
) -> FloatArray:
    stable = rng.standard_normal(n)
    monthly = np.empty((n, cols))
    monthly[:, 0] = rng.standard_normal(n)
    innovation = math.sqrt(1.0 - phi * phi)
    for t in range(1, cols):
        monthly[:, t] = phi * monthly[:, t - 1] + innovation * rng.standard_normal(n)
    return np.asarray(math.sqrt(stability) * stable[:, None] + math.sqrt(1.0 - stability) * monthly)


@dataclass(frozen=True)
class Design:
    """Where the planted structure sits in the organisation (team rows)."""

    n_front: int
    serving: NDArray[np.int64]  # per front-line team: the row of the back-office team serving it
    reversed_teams: BoolArray  # front-line teams of the reverse region (all rows)
    action_works: int  # team row whose action on support works (-1: none)
    action_fails: int  # team row whose action on workload changes nothing (-1: none)


def simulate_latent(rng: np.random.Generator, config: DemoConfig, design: Design) -> Latent:
    """The unit-level latent values of the teams of ``design`` (module docstring)."""
    lag, periods = config.lag_periods, config.periods
    n = design.reversed_teams.size
    cols = periods + lag
    process = (config.stability, config.autocorrelation)
    w = _process(rng, n, cols, *process)
    u = _process(rng, n, cols, *process)
    e = _process(rng, n, periods, *process)
    if design.serving.size and n > design.n_front:
        k = config.serves_share
        front = slice(0, design.n_front)
        u[front] = math.sqrt(1.0 - k * k) * u[front] + k * u[design.serving]
    constructs: dict[str, FloatArray] = {}
    for key, (a, m) in LOADINGS.items():
        unique = _process(rng, n, cols, *process)
        constructs[key] = -a * w + m * u + math.sqrt(1.0 - a * a - m * m) * unique
    if design.action_works >= 0:
        start = config.action_at + lag
        constructs[SUPPORT][design.action_works, start:] += config.action_effect
    outcome = np.empty((n, periods))
    for reverse in (False, True):
        rows = design.reversed_teams == reverse
        b_s, b_f, b_w, s = outcome_weights(config, reverse)
        outcome[rows] = (
            b_s * constructs[SUPPORT][rows, :periods]
            + b_f * constructs[FAIRNESS][rows, :periods]
            - b_w * w[rows, :periods]
            + s * e[rows]
        )
    return Latent(constructs, w, outcome, lag, design.reversed_teams)


def pooled_r(xs: list[FloatArray], ys: list[FloatArray]) -> float:
    """Pearson r of replicates pooled after centring each on its own mean."""
    x, y = np.concatenate(xs), np.concatenate(ys)
    return float((x @ y) / math.sqrt((x @ x) * (y @ y)))


def planted_effects(config: DemoConfig) -> dict[str, tuple[float, str]]:
    """Per treatment construct: its planted direct effect on the outcome one month later and
    its role in the story, in words."""
    region = config.reverse_region
    return {
        SUPPORT: (
            config.support_effect,
            f"drives {config.outcome} a month later (the other way round in {region})",
        ),
        FAIRNESS: (config.fairness_effect, f"drives {config.outcome} a month later"),
        WORKLOAD: (
            config.workload_effect,
            "confounder: heavy workload lowers support, fairness and the outcome",
        ),
        RECOGNITION: (0.0, "no effect of its own; shares management quality with support"),
        VOICE: (0.0, "no effect of its own; shares management quality with support"),
        GROWTH: (0.0, "no effect, and unrelated to the rest"),
    }
