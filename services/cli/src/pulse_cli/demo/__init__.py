"""The live demo: a seeded organisation with a planted truth (``generator`` and its parts,
pure and importable for benchmarks and load tests), driven through the real services
(``driver`` and its stages)."""

from pulse_cli.demo.config import SIZES, DemoConfig
from pulse_cli.demo.driver import run_demo
from pulse_cli.demo.generator import Organisation, generate
from pulse_cli.demo.observed import expected_observed_r
from pulse_cli.demo.result import DemoResult
from pulse_cli.demo.run import Progress

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
