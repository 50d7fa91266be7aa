"""The demo driven end to end through the real services (in-process stack, real PostgreSQL
and NATS): every submitted response is counted and the --json contract is complete."""

from __future__ import annotations

import json
import math

import asyncpg
import nats
from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse_cli.context import Stubs, connect
from pulse_cli.demo import SIZES, DemoConfig, run_demo
from pulse_cli.demo.history import history_start_month
from pulse_cli.demo.run import Progress
from pulse_cli.demo.setup import demo_env
from pulse_common.measures import TREATMENT_CONSTRUCTS
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
    config = DemoConfig(size="tiny", start_month=history_start_month(SIZES["tiny"].periods))
    settings = make_settings(database_url, nats_url, **demo_env(config))
    async with inprocess_stack(settings, [SURVEY, RESPONSE, CORRELATION]) as stack:
        nc = await nats.connect(nats_url)
        try:
            async with connect(stack.settings, TOOLS) as stubs:
                assert isinstance(stubs, Stubs)
                recorder = Recorder()
                result = await run_demo(stubs, nc.jetstream(), config, 3, recorder, replicates=40)
                # The printed employee links are of the current month's live wave: each
                # opens the form (a backfilled month's link says the survey has closed).
                forms = [
                    await stubs.response.GetForm(
                        resp_pb.GetFormRequest(token=path.removeprefix("/s/")),
                        timeout=stubs.deadline_s,
                    )
                    for path in result.survey_links.values()
                ]
        finally:
            await nc.close()
        # Each month's wave was opened by BackfillWave, audited under the demo's identity.
        db = await asyncpg.connect(database_url)
        try:
            audit = await db.fetch(
                "SELECT b.requested_by, w.period, w.status FROM survey.wave_backfills b"
                " JOIN survey.waves w USING (wave_id) WHERE b.reason LIKE '%(seed 3)'"
            )
        finally:
            await db.close()

    assert result.responses_submitted > 0
    assert result.responses_counted == result.responses_submitted
    assert result.counts["submissions_failed"] == 0, (result.counts, recorder.notes)
    # Every generated answer reached the services: employees and customers alike.
    assert result.counts["employee_responses_submitted"] == result.counts["employee_responses"]
    # The last month's interactions are invited like live ones (every one: sample rate 1);
    # earlier months' customer answers are imported as history. Either way, every
    # responding customer's answer reached the services.
    assert result.counts["customer_invitations"] == result.counts["live_interactions"]
    assert 0 < result.counts["live_interactions"] < result.counts["interactions"]
    assert (
        result.counts["customer_responses_submitted"]
        == result.counts["customer_responses_if_all_invited"]
    )
    assert result.counts["customer_history_imported"] > 0
    # Employee history went through backfilled waves, tokens and Submit (not an import).
    assert "employee_history_imported" not in result.counts
    assert result.counts["employee_history_submitted"] == result.counts["employee_responses"]
    assert any("through backfilled waves" in note for note in recorder.notes)
    months = [p.label for p in config.months()]
    assert sorted(row["period"] for row in audit) == months
    callers = {row["requested_by"] for row in audit}
    assert len(callers) == 1  # the demo's verified identity, named in every audit row
    assert all(callers)
    assert {row["status"] for row in audit} == {"closed"}  # CloseWave after the answers
    payload = json.loads(json.dumps(result.to_json()))
    for key in CONTRACT:
        assert key in payload, key
    assert set(payload["estimate"]) >= {"r", "ci_low", "ci_high", "disattenuated_r"}
    assert payload["report_id"]
    assert payload["units_reported"] >= 3
    assert -1 < payload["true_latent_r"] < 1
    assert -1 < payload["expected_observed_r"] < 1
    # Every treatment construct is a planted driver beside the report's estimate of it.
    drivers = {d["name"]: d for d in payload["drivers"]}
    assert set(drivers) == set(TREATMENT_CONSTRUCTS)
    for driver in drivers.values():
        assert set(driver) >= {"name", "planted", "estimate", "ci_low", "ci_high", "covered"}
        assert driver["ci_low"] <= driver["estimate"] <= driver["ci_high"]
        assert driver["covered"] == (driver["ci_low"] <= driver["planted"] <= driver["ci_high"])
    assert drivers["treatment.support"]["planted"] == payload["expected_observed_r"]
    # The story's other parts reached the services.
    assert result.counts["serves_links"] == SIZES["tiny"].front_line_teams
    assert result.next_steps["report"] == f"/reports/{result.report_id}"
    assert result.next_steps["dashboard"].startswith("/dashboard?from=")
    estimate = result.estimate
    assert estimate.ci_low <= estimate.r <= estimate.ci_high
    # Only the back-office teams (no customers) are suppressed, so the service's r over unit
    # means is the generator's own r of exactly the answers submitted.
    assert result.units_suppressed == SIZES["tiny"].back_office_teams
    assert math.isclose(estimate.r, result.generated_r, abs_tol=1e-6)
    assert recorder.stages["employee history"][0] == result.counts["employee_responses"]
    assert any("reorganisation" in note for note in recorder.notes)
    # One live employee wave, nobody answered it: the counts above are the history's alone.
    assert result.counts["live_employee_invitations"] > 0
    assert 0 < len(result.survey_links) <= 3
    assert all(path.startswith("/s/") for path in result.survey_links.values())
    assert all(form.items and form.definition.survey_id for form in forms)
    assert payload["survey_links"] == result.survey_links
