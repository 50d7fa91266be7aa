"""The live demo: a seeded organisation with a planted truth (``generator``, pure and
importable for benchmarks and load tests), driven through the real services (``driver``)."""

from pulse_cli.demo.driver import DemoResult, Progress, run_demo
from pulse_cli.demo.generator import SIZES, DemoConfig, Organisation, expected_observed_r, generate

__all__ = [
    "SIZES",
    "DemoConfig",
    "DemoResult",
    "Organisation",
    "Progress",
    "expected_observed_r",
    "generate",
    "run_demo",
]
