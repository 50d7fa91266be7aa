"""The demo driven end to end through the real services (in-process stack, real PostgreSQL
and NATS): every submitted response is counted and the --json contract is complete."""

from __future__ import annotations

import json
import math

import nats
import pytest
from pulse_cli.context import Stubs, connect
from pulse_cli.demo import SIZES, DemoConfig, run_demo
from pulse_cli.demo.run import Progress
from pulse_cli.demo.setup import demo_env, demo_start_month
from pulse_common.nats_auth import TOOLS
from pulse_correlation.app import DEFINITION as CORRELATION
from pulse_response.app import DEFINITION as RESPONSE
from pulse_survey.app import DEFINITION as SURVEY
from pulse_testing.stack import inprocess_stack
from pulse_testing.stack import settings_for_tests as make_settings

CONTRACT = (
    "responses_submitted",
    "responses_counted",
    "true_latent_r",
    "expected_observed_r",
    "estimate",
    "units_reported",
    "units_suppressed",
    "report_id",
    "elapsed_s",
)


class Recorder(Progress):
    def __init__(self) -> None:
        self.stages: dict[str, tuple[int, int]] = {}
        self.notes: list[str] = []

    def stage(self, name: str, done: int, total: int) -> None:
        self.stages[name] = (done, total)

    def note(self, text: str) -> None:
        self.notes.append(text)


async def test_tiny_demo_counts_every_response_and_fills_the_contract(
    database_url: str, nats_url: str
) -> None:
    config = DemoConfig(size="tiny", start_month=demo_start_month())
    settings = make_settings(database_url, nats_url, **demo_env(config))
    async with inprocess_stack(settings, [SURVEY, RESPONSE, CORRELATION]) as stack:
        nc = await nats.connect(nats_url)
        try:
            async with connect(stack.settings, TOOLS) as stubs:
                assert isinstance(stubs, Stubs)
                recorder = Recorder()
                result = await run_demo(stubs, nc.jetstream(), config, 3, recorder, replicates=40)
        finally:
            await nc.close()

    assert result.responses_submitted > 0
    assert result.responses_counted == result.responses_submitted
    assert result.counts["submissions_failed"] == 0
    # Every generated answer reached the services: employees and customers alike.
    assert result.counts["employee_responses_submitted"] == result.counts["employee_responses"]
    # The survey service samples about half of the interactions (customer_sample_rate).
    invited = result.counts["customer_invitations"]
    assert invited == pytest.approx(0.5 * result.counts["interactions"], rel=0.15)
    assert result.counts["customer_responses_submitted"] == pytest.approx(
        config.customer_response_rate * invited, rel=0.25
    )
    payload = json.loads(json.dumps(result.to_json()))
    for key in CONTRACT:
        assert key in payload, key
    assert set(payload["estimate"]) >= {"r", "ci_low", "ci_high", "disattenuated_r"}
    assert payload["report_id"]
    assert payload["units_reported"] >= 3
    assert payload["true_latent_r"] == config.true_latent_r
    assert -1 < payload["expected_observed_r"] < 1
    estimate = result.estimate
    assert estimate.ci_low <= estimate.r <= estimate.ci_high
    # Only the back-office teams (no customers) are suppressed, so the service's r over unit
    # means is the generator's own r of exactly the answers submitted.
    assert result.units_suppressed == SIZES["tiny"].back_office_teams
    assert math.isclose(estimate.r, result.generated_r, abs_tol=1e-6)
    assert recorder.stages["employee answers"][0] == result.counts["employee_responses"]
    assert any("reorganisation" in note for note in recorder.notes)
