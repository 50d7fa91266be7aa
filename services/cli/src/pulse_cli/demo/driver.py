"""Drive a generated organisation through the real services: org and roster into the survey
service, serves links, an employee and a customer survey from the item bank (``setup``), the
reorganisation half-way, the past answers as audited history imports (``history``), the
last month's customer interactions and the answers to the invitations they bring
(``interactions``), then a linkage report once the correlation service has counted every
response (``reporting``), returned beside the planted truth.

The stack must run with ``setup.demo_env(config)``: no contact budget, so that repeat
customers are all asked, the customer sampling the generator expects, and tokens that
outlive the past months. The generated months end with the last month the correlation
service releases (``history.history_start_month``). After the answers:
the two teams' actions, team leads approving praise (``story``), the report, and where a
leader clicks next (``links``). Last, one live employee wave opens for the current month
(``live_wave``), whose links open the form."""

from __future__ import annotations

import asyncio
import math
import time

from nats.js import JetStreamContext
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse_common.measures import CUSTOMER

from pulse_cli.context import Stubs
from pulse_cli.demo.backfill import backfill_employee_history
from pulse_cli.demo.config import DemoConfig
from pulse_cli.demo.generator import generate
from pulse_cli.demo.history import import_history
from pulse_cli.demo.interactions import answer_customers, publish_interactions
from pulse_cli.demo.latent import planted_effects
from pulse_cli.demo.links import leader_links
from pulse_cli.demo.live_wave import open_live_wave
from pulse_cli.demo.observed import Planted, expected_driver_rs
from pulse_cli.demo.reporting import headline, responses_counted, run_report, wait_counted
from pulse_cli.demo.result import DemoResult, DriverOut, driver_of, estimate_of
from pulse_cli.demo.run import DemoRun, Progress
from pulse_cli.demo.setup import create_surveys, import_org, load_bank, org_since, reorganise
from pulse_cli.demo.story import add_actions, approve_praise, link_serves

# Simulated units in all for the Monte Carlo of expected_observed_r (by default).
MONTE_CARLO_UNITS = 12_000


async def run_demo(
    stubs: Stubs,
    js: JetStreamContext,
    config: DemoConfig,
    seed: int,
    progress: Progress | None = None,
    *,
    interactions: str = "nats",
    count_timeout_s: float = 300.0,
    replicates: int | None = None,
) -> DemoResult:
    """Generate ``config`` for ``seed``, drive it through the services behind ``stubs`` and
    ``js``, and return the verdict beside the planted truth.

    ``interactions``: "nats" publishes ``pulse.interaction.completed`` events (the CRM
    path); "grpc" calls ``RecordInteraction`` with bounded concurrency (same use case in
    the survey service, faster while its event consumer handles one message at a time).
    ``replicates`` of the Monte Carlo default to about ``MONTE_CARLO_UNITS`` units in all."""
    progress = progress or Progress()
    if replicates is None:
        replicates = max(40, math.ceil(MONTE_CARLO_UNITS / config.preset.front_line_teams))
    started = time.monotonic()
    bank = await load_bank(stubs)
    org = await asyncio.to_thread(generate, config, seed, bank)
    run = DemoRun(stubs, js, org, progress, interactions)
    progress.note(
        f"generated {len(org.units)} units ({len(org.front_line_teams)} front-line teams), "
        f"{len(org.employees)} employees, {len(org.periods)} months from "
        f"{org.periods[0].label}, {len(org.interactions)} customer interactions"
    )
    expected_task = asyncio.create_task(
        asyncio.to_thread(expected_driver_rs, config, seed, replicates, bank)
    )
    baseline = await responses_counted(stubs)
    await run.mailbox.start()
    try:
        mark = time.monotonic()
        await import_org(run)
        await link_serves(run, org_since(org))
        await create_surveys(run)
        run.timings["setup"] = time.monotonic() - mark

        mark = time.monotonic()
        published = asyncio.Event()
        survey_links: dict[str, str] = {}

        async def publish() -> None:
            await publish_interactions(run)
            published.set()

        await reorganise(run)  # dated half-way: the org's history keeps both trees

        async def history() -> None:
            await asyncio.gather(backfill_employee_history(run), import_history(run, CUSTOMER))
            survey_links.update(await open_live_wave(run))  # after the backfilled months

        await asyncio.gather(history(), publish(), answer_customers(run, published))
        run.timings["drive"] = time.monotonic() - mark
        mark = time.monotonic()
        counted = await wait_counted(run, baseline, count_timeout_s)
        run.timings["count"] = time.monotonic() - mark
    finally:
        await run.mailbox.stop()

    mark = time.monotonic()
    actions = await add_actions(run)
    await approve_praise(run)
    run.timings["story"] = time.monotonic() - mark
    mark = time.monotonic()
    report = await run_report(run)
    run.timings["report"] = time.monotonic() - mark
    result = _summary(run, report, counted, await expected_task)
    result.next_steps = leader_links(run, report.report_id, actions)
    result.survey_links = survey_links
    result.elapsed_s = round(time.monotonic() - started, 2)
    return result


def answered_ids(run: DemoRun) -> set[str]:
    """Interactions whose customers could answer: invited live, or of an imported month."""
    imported = {i.interaction_id for i in run.org.interactions if i.period < run.live_from}
    return run.invited_ids | imported


def drivers_of(
    report: corr_pb.LinkageReport, planted: dict[str, Planted], run: DemoRun
) -> list[DriverOut]:
    """Each planted driver beside the report's estimate of it (report order)."""
    effects = planted_effects(run.org.config)
    out = []
    for name, truth in planted.items():
        effect, role = effects.get(name, (0.0, ""))
        estimate = estimate_of(headline(report, name))
        out.append(driver_of(name, truth.observed, truth.latent, effect, role, estimate))
    return out


def _summary(
    run: DemoRun, report: corr_pb.LinkageReport, counted: int, planted: dict[str, Planted]
) -> DemoResult:
    """The run's numbers beside the planted truth."""
    org, config = run.org, run.org.config
    linkage = headline(report, config.predictor)
    estimate = estimate_of(linkage)
    expected = planted[config.predictor].observed
    lags = {str(lag.lag): lag.estimate.r for lag in linkage.lags} if linkage else {}
    counts = {
        **org.counts(),
        **run.counts,
        "employee_responses_submitted": run.tally.employee,
        "customer_responses_submitted": run.tally.customer,
        "submissions_failed": run.tally.failed,
        **{f"failed_{k}": v for k, v in run.tally.errors.items()},
    }
    return DemoResult(
        responses_submitted=run.tally.submitted,
        responses_counted=counted,
        true_latent_r=planted[config.predictor].latent,
        expected_observed_r=expected,
        estimate=estimate,
        units_reported=report.units_reported,
        units_suppressed=report.units_suppressed,
        report_id=report.report_id,
        elapsed_s=0.0,
        size=config.size,
        seed=org.seed,
        predictor=config.predictor,
        outcome=config.outcome,
        lag_periods=config.lag_periods,
        periods=[p.label for p in org.periods],
        generated_r=org.observed(invited=answered_ids(run)).correlation(),
        verdict_level=report.verdict.level,
        verdict_text=report.verdict.text,
        interval_covers_expected=estimate.ci_low <= expected <= estimate.ci_high,
        lags=lags,
        counts=counts,
        timings_s={k: round(v, 2) for k, v in run.timings.items()},
        drivers=drivers_of(report, planted, run),
    )
