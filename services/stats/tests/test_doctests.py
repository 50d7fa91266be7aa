"""Every pulse_stats docstring example runs as a doctest, and the public API keeps its
conventions (scipy.stats / pingouin style): data positional, options keyword-only, numpydoc
sections with the formula's references and a runnable example."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable
from types import ModuleType

import pulse_stats
import pytest

MODULE_NAMES = [
    "pulse_stats",
    *sorted(m.name for m in pkgutil.walk_packages(pulse_stats.__path__, "pulse_stats.")),
]
PUBLIC_MODULES = [name for name in MODULE_NAMES if not name.rsplit(".", 1)[-1].startswith("_")]

#: The data arguments of every public function: positional, in this order. Everything else
#: is keyword-only.
DATA_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "correlation": ("x", "y"),
    "bootstrap_correlation": ("x", "y"),
    "permutation_correlation": ("x", "y"),
    "partial_correlation": ("x", "y", "covariates"),
    "repeated_measures_correlation": ("subject", "x", "y"),
    "icc": ("groups", "values"),
    "icc_from_summaries": ("n", "sums", "sums_of_squares"),
    "rwg_j": ("groups", "items"),
    "rwg_j_from_summaries": ("n", "item_sums", "item_sums_of_squares"),
    "cronbach_alpha": ("items",),
    "disattenuated": ("r", "reliability_x", "reliability_y"),
    "nps": ("scores",),
    "nps_from_counts": ("promoters", "passives", "detractors"),
    "wilson_interval": ("successes", "n"),
    "top_box": ("scores",),
    "lagged_correlations": ("unit", "period", "predictor", "outcome"),
    "cross_lagged": ("unit", "period", "predictor", "outcome"),
    "fdr": ("p_values",),
    "units_needed": ("r",),
    "correlation_power": ("r", "n"),
    "holm": ("p_values",),
    "within_unit_lags": ("unit", "period", "predictor", "outcome"),
    "lead_lag_test": ("unit", "period", "predictor", "outcome"),
    "random_intercept_regression": ("n", "sums", "sums_of_squares", "x"),
    "simulate_organisation": ("design",),
    "simulate_survey": ("design",),
    "simulate_panel": ("design",),
    "expected_unit_correlation": ("design",),
    "observed_scale_icc": ("icc", "design"),
}

#: One name per concept across the package.
OPTION_NAMES = {
    "method",
    "confidence_level",
    "n_resamples",
    "random_state",
    "group_size",
    "n_options",
    "scale_max",
    "scale_min",
    "boxes",
    "max_lag",
    "fixed_effects",
    "alpha",
    "power",
    "driver",
    "n_units",
    "chunk",
    "nodes",
    "n_periods",
    "lag",
    "autocorrelation",
}


def _functions(module: ModuleType) -> list[tuple[str, Callable[..., object]]]:
    return [
        (name, obj)
        for name, obj in vars(module).items()
        if inspect.isfunction(obj) and obj.__module__ == module.__name__
    ]


@pytest.mark.parametrize("module_name", MODULE_NAMES)
def test_docstring_examples_pass(module_name: str) -> None:
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} doctest failure(s) in {module_name}"
    if module_name in PUBLIC_MODULES:
        assert result.attempted > 0, f"{module_name} has no runnable example"


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_public_functions_follow_the_conventions(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = set(getattr(module, "__all__", ()))
    checked = 0
    for name, function in _functions(module):
        if name.startswith("_"):
            continue
        assert name in exported, f"{module_name}.{name} is public but not in __all__"
        checked += 1
        signature = inspect.signature(function)
        positional = tuple(
            p.name
            for p in signature.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        )
        assert positional == DATA_ARGUMENTS[name], f"{name}: data arguments {positional}"
        options = [p for p in signature.parameters.values() if p.name not in positional]
        for p in options:
            assert p.kind is p.KEYWORD_ONLY, f"{name}: {p.name} must be keyword-only"
            assert p.name in OPTION_NAMES, f"{name}: option {p.name} is not in the vocabulary"
        doc = inspect.getdoc(function) or ""
        for section in ("Parameters", "Returns", "References", "Examples"):
            assert re.search(rf"^{section}\n-{{{len(section)}}}$", doc, re.M), (
                f"{name}: missing numpydoc section {section}"
            )
        assert ">>> " in doc.split("Examples\n--------", 1)[1], f"{name}: no runnable example"
        assert ".. [1]" in doc, f"{name}: no numbered reference"
        parameters_section = doc.split("Parameters\n----------", 1)[1].split("Returns\n---", 1)[0]
        for parameter in signature.parameters:
            assert re.search(rf"^{parameter}\b|, {parameter}\b", parameters_section, re.M), (
                f"{name}: parameter {parameter} is not documented"
            )
    own = {name for name, _ in _functions(module)}
    assert checked == len(exported & own)  # every exported function of the module was checked


def test_every_exported_function_is_covered() -> None:
    functions = {
        name for name in pulse_stats.__all__ if inspect.isfunction(getattr(pulse_stats, name))
    }
    assert functions <= set(DATA_ARGUMENTS)
