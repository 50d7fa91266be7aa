"""Generative model of an employee-pulse / customer-outcome study, for validation.

:mod:`pulse_stats.simulation.model` draws simulated surveys and panels (the model is
described there); :mod:`pulse_stats.simulation.targets` computes the population values
the estimators aim at. Everything is pure and deterministic given a seed.

Examples
--------
>>> from pulse_stats.simulation import SimulationDesign, simulate_survey
>>> wave = simulate_survey(SimulationDesign(n_units=4), random_state=1)
>>> wave.customer_means().shape
(4,)
"""

from pulse_stats.simulation.model import (
    PanelSample,
    SimulationDesign,
    SurveySample,
    simulate_panel,
    simulate_survey,
)
from pulse_stats.simulation.organisation import (
    Link,
    OrganisationDesign,
    OrganisationSample,
    simulate_organisation,
)
from pulse_stats.simulation.targets import expected_unit_correlation, observed_scale_icc

__all__ = [
    "Link",
    "OrganisationDesign",
    "OrganisationSample",
    "PanelSample",
    "SimulationDesign",
    "SurveySample",
    "expected_unit_correlation",
    "observed_scale_icc",
    "simulate_organisation",
    "simulate_panel",
    "simulate_survey",
]
