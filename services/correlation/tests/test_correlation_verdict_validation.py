"""The verdict validation (issue 21): the real report builder on simulated organisations.
A few replicates per scenario here (the machinery and loose bounds); the full study with
1,000 replicates per scenario runs in ``make test-slow`` and ``make validate-verdicts``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from pulse_correlation.verdict_scenarios import BY_NAME, SCENARIOS, replicate, summarise

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "validate_verdicts.py"
LINE = re.compile(
    r"^scenario (?P<name>\w+): claim_rate=(?P<claim>[0-9.]+) "
    r"wrong_direction_rate=(?P<wrong>[0-9.]+) mc_se=(?P<se>[0-9.]+) replicates=(?P<n>\d+)$"
)


def test_a_few_replicates_of_every_scenario_read_as_planted() -> None:
    reps = 12
    found = {
        s.name: summarise(s, [replicate(s, 7_000 + i, resamples=20) for i in range(reps)])
        for s in SCENARIOS
    }
    assert {s.crashes for s in found.values()} == {0}
    # Loose bounds for 12 replicates (the full study checks the targets).
    assert found["null"].claim_rate <= 2 / reps
    assert found["leading"].claim_rate >= 0.5
    assert found["concurrent"].claim_rate >= 0.5
    assert found["concurrent"].wrong_direction_rate <= 2 / reps
    assert found["reverse"].wrong_direction_rate <= 2 / reps
    assert found["confounded"].adjusted_named_rate >= 0.8
    assert found["low_icc"].claims_without_gate == 0
    assert found["low_icc"].gate_rate == 1.0
    assert LINE.match(found["null"].line())


def test_the_script_prints_one_line_per_scenario() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--replicates", "3", "--workers", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert [LINE.match(line)["name"] for line in lines] == [s.name for s in SCENARIOS]  # type: ignore[index]
    assert all(LINE.match(line)["n"] == "3" for line in lines)  # type: ignore[index]
    assert "| scenario | replicates |" in proc.stderr


@pytest.mark.slow
@pytest.mark.timeout(3600)  # about 6 minutes on 2 idle cores, more on a busy machine
def test_validation_of_1000_replicates_meets_the_targets() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--replicates", "1000", "--check"],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rates = {m["name"]: m for m in map(LINE.match, proc.stdout.splitlines()) if m}
    assert set(rates) == set(BY_NAME)
    null = rates["null"]
    assert float(null["claim"]) + 1.96 * float(null["se"]) <= 0.06
    assert float(rates["leading"]["claim"]) >= 0.80
    assert "MISS" not in proc.stderr
