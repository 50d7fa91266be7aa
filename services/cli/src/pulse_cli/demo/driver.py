"""Drive a generated organisation through the real services: org and roster into the survey
service, an employee and a customer survey from the item bank, one employee wave per month
(tokens read from NATS, answers submitted to the response service), customer interactions as
``pulse.interaction.completed`` events (customers answer the invitations the survey service
decides to send), the reorganisation half-way, then a linkage report once the correlation
service has counted every response.

Time: the survey service opens a wave only before its closing date and does not invite
customers for interactions older than the token lifetime, so the generated months start next
month (``demo_start_month``). The demo stack runs with no contact budget, so that monthly
waves and repeat customers are all asked (``DEMO_ENV``)."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import grpc
import grpc.aio
import nats.js.errors
from nats.js import JetStreamContext
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse.events.v1 import events_pb2
from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2
from pulse_common.messaging import publish_event
from pulse_common.subjects import INTERACTION_COMPLETED, STREAM

from pulse_cli.context import Stubs
from pulse_cli.demo.generator import (
    DemoConfig,
    EmployeeAnswer,
    Interaction,
    Organisation,
    expected_observed_r,
    generate,
)
from pulse_cli.demo.items import TREATMENT_CONSTRUCTS, BankEntry, ItemBank, bank_from_entries
from pulse_cli.demo.mailbox import Mailbox

# Environment of a stack the demo starts: every monthly wave and every repeat customer is
# asked (the default 14-day contact budget would suppress them; see the module docstring),
# every interaction is invited, and the simulated respondents are not rate limited.
DEMO_ENV = {
    "PULSE_CONTACT_BUDGET_DAYS": "0",
    "PULSE_RESPONSE_SUBMITS_PER_MINUTE": "1000000",
    "PULSE_WAVE_SCHEDULER_INTERVAL_S": "0",
}
TRANSPORTS = ("nats", "grpc")


def demo_env(config: DemoConfig) -> dict[str, str]:
    """``DEMO_ENV`` plus the customer sampling the generator expects."""
    return {**DEMO_ENV, "PULSE_CUSTOMER_SAMPLE_RATE": str(config.customer_sample_rate)}


SURVEY_INTERACTION_CONSUMER = "survey-interactions"  # pulse_survey.messaging.DURABLE
CONCURRENCY = 32
PUBLISH_CHUNK = 200
RETRYABLE = (
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
)
# Preferred free-text item per survey when the bank offers several (any comment item works).
PREFERRED_COMMENTS = {"employee": "ecomment.1", "customer": "ccomment.1"}

STAGES = (
    "units",
    "roster",
    "interactions published",
    "employee answers",
    "customer answers",
    "counted",
)


class Progress:
    """What the driver reports; the CLI renders it (rich progress bars, or nothing)."""

    def stage(self, name: str, done: int, total: int) -> None:
        """``done`` of ``total`` rows of stage ``name`` (one of ``STAGES``)."""

    def note(self, text: str) -> None:
        """A milestone worth a line of its own."""


class DemoFailed(Exception):
    """The demo could not finish; the message says what to look at."""


@dataclass(frozen=True)
class EstimateOut:
    r: float
    ci_low: float
    ci_high: float
    disattenuated_r: float
    p_value: float
    n: int
    method: str


@dataclass
class DemoResult:
    """Everything ``pulse demo --json`` prints (the first nine keys are the contract)."""

    responses_submitted: int
    responses_counted: int
    true_latent_r: float
    expected_observed_r: float
    estimate: EstimateOut
    units_reported: int
    units_suppressed: int
    report_id: str
    elapsed_s: float
    size: str = ""
    seed: int = 0
    predictor: str = ""
    outcome: str = ""
    lag_periods: int = 0
    periods: list[str] = field(default_factory=list)
    # Pearson r of exactly the answers generated, aggregated as the report does: the number
    # the report must reproduce when every response is counted.
    generated_r: float = math.nan
    verdict_level: str = ""
    verdict_text: str = ""
    interval_covers_expected: bool = False
    lags: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        payload = asdict(self)
        return {k: _finite(v) for k, v in payload.items()}


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def demo_start_month(today: date | None = None) -> str:
    """The first generated month: the next one, so that every wave can still be opened and
    no interaction is too old to be invited (see the module docstring)."""
    today = today or date.today()
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return f"{year}-{month:02d}"


# ------------------------------------------------------------------------------ helpers


_UNIT_TYPES = {
    "management": survey_pb.UNIT_TYPE_MANAGEMENT,
    "front_line": survey_pb.UNIT_TYPE_FRONT_LINE,
    "back_office": survey_pb.UNIT_TYPE_BACK_OFFICE,
}
_KINDS = {
    "employee": types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
    "customer": types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION,
}


async def _retrying(call: Callable[[], Awaitable[Any]], attempts: int = 8) -> Any:
    delay = 0.1
    for attempt in range(attempts):
        try:
            return await call()
        except grpc.aio.AioRpcError as error:
            if error.code() not in RETRYABLE or attempt == attempts - 1:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")


async def load_bank(stubs: Stubs) -> ItemBank:
    """The demo's items, read from the survey service's bank."""
    entries: list[BankEntry] = []
    for kind, value in _KINDS.items():
        listed = await stubs.survey.ListItems(
            survey_pb.ListItemsRequest(kind=value), timeout=stubs.deadline_s
        )
        for item in listed.items:
            scale = types_pb2.Scale.Name(item.scale).removeprefix("SCALE_").lower()
            entries.append(
                BankEntry(item.item_id, item.construct, scale, item.reverse_scored, kind)
            )
    comments = {
        kind: [e.item_id for e in entries if e.kind == kind and e.construct == "comment"]
        for kind in _KINDS
    }
    # Put the preferred comment item first so bank_from_entries picks it.
    chosen = []
    for e in entries:
        preferred = PREFERRED_COMMENTS[e.kind]
        if e.construct == "comment" and preferred in comments[e.kind] and e.item_id != preferred:
            continue
        chosen.append(e)
    return bank_from_entries(chosen)


def _client_id(contact: str) -> str:
    """Each simulated respondent is its own client (the web front hashes addresses)."""
    return hashlib.sha256(f"demo-client:{contact}".encode()).hexdigest()[:32]


def _answers(
    slots_ids: list[str], scores: Iterable[int], comment_item: str, comment: str
) -> list[types_pb2.Answer]:
    answers = [
        types_pb2.Answer(item_id=item_id, score=score)
        for item_id, score in zip(slots_ids, scores, strict=True)
    ]
    if comment and comment_item:
        answers.append(types_pb2.Answer(item_id=comment_item, text=comment))
    return answers


@dataclass
class _Tally:
    submitted: int = 0
    employee: int = 0
    customer: int = 0
    failed: int = 0
    errors: dict[str, int] = field(default_factory=dict)


class _Submitter:
    """Bounded concurrency (``CONCURRENCY`` submissions in flight) with safe retries: the
    idempotency key is fixed per respondent, so a retried submission is never counted twice."""

    def __init__(self, stubs: Stubs, tally: _Tally) -> None:
        self.stubs = stubs
        self.tally = tally
        self.slots = asyncio.Semaphore(CONCURRENCY)

    async def submit(self, request: resp_pb.SubmitRequest, kind: str) -> bool:
        async with self.slots:
            try:
                await _retrying(
                    lambda: self.stubs.response.Submit(request, timeout=self.stubs.deadline_s)
                )
            except grpc.aio.AioRpcError as error:
                self.tally.failed += 1
                key = f"{kind}:{error.code().name}"
                self.tally.errors[key] = self.tally.errors.get(key, 0) + 1
                return False
        self.tally.submitted += 1
        if kind == "employee":
            self.tally.employee += 1
        else:
            self.tally.customer += 1
        return True


async def _gather_bounded(coroutines: Iterable[Awaitable[bool]]) -> int:
    """Run (the semaphore inside bounds concurrency); tasks are created in chunks so that a
    month of submissions does not allocate all its tasks at once."""
    ok = 0
    pending: list[Awaitable[bool]] = []
    for coroutine in coroutines:
        pending.append(coroutine)
        if len(pending) >= CONCURRENCY * 8:
            ok += sum(await asyncio.gather(*pending))
            pending = []
    if pending:
        ok += sum(await asyncio.gather(*pending))
    return ok


# ------------------------------------------------------------------------------ the run


class _Run:
    def __init__(
        self,
        stubs: Stubs,
        js: JetStreamContext,
        org: Organisation,
        progress: Progress,
        transport: str,
    ) -> None:
        self.transport = transport
        self.recorded_invited = 0  # gRPC transport: invitations the replies announced
        self.invited_ids: set[str] = set()
        self.stubs = stubs
        self.js = js
        self.org = org
        self.progress = progress
        self.tally = _Tally()
        self.submitter = _Submitter(stubs, self.tally)
        self.mailbox = Mailbox(js)
        self.counts: dict[str, int] = {}
        self.timings: dict[str, float] = {}
        self.employee_survey = ""
        self.customer_survey = ""
        self.customer_expected = org.counts()["customer_responses_expected"]
        self.customer_done = 0

    @property
    def deadline(self) -> float:
        return self.stubs.deadline_s

    async def import_org(self) -> None:
        org, first = self.org, self.org.periods[0].first_day
        # Units exist from well before the first month (the roster's earliest start).
        since = min([first, *(e.start_date for e in org.employees)]).isoformat()
        for n, unit in enumerate(org.units, start=1):
            await self.stubs.survey.CreateUnit(
                survey_pb.CreateUnitRequest(
                    unit_id=unit.unit_id,
                    name=unit.name,
                    parent_id=unit.parent_id,
                    unit_type=_UNIT_TYPES[unit.unit_type],
                    effective_from=since,
                ),
                timeout=self.deadline,
            )
            self.progress.stage("units", n, len(org.units))

        async def rows() -> AsyncIterator[survey_pb.ImportRosterRequest]:
            yield survey_pb.ImportRosterRequest(
                options=survey_pb.ImportRosterOptions(as_of=first.isoformat())
            )
            for line, person in enumerate(org.employees, start=2):
                yield survey_pb.ImportRosterRequest(
                    row=survey_pb.RosterRow(
                        employee_id=person.employee_id,
                        email=person.email,
                        unit_id=person.unit_id,
                        start_date=person.start_date.isoformat(),
                        end_date=person.end_date.isoformat() if person.end_date else "",
                        line=line,
                    )
                )

        imported = await self.stubs.survey.ImportRoster(rows(), timeout=max(60.0, self.deadline))
        if imported.rejected:
            first_problem = imported.rejected[0]
            raise DemoFailed(
                f"the roster import rejected {len(imported.rejected)} rows (line "
                f"{first_problem.line}, {first_problem.field}: {first_problem.reason})"
            )
        self.counts["employees_imported"] = imported.created + imported.updated + imported.unchanged
        self.progress.stage("roster", len(org.employees), len(org.employees))

    async def create_surveys(self) -> None:
        bank, k = self.org.bank, self.org.config.min_group_size
        for kind, name, item_ids in (
            ("employee", "Monthly pulse (demo)", bank.employee_item_ids),
            ("customer", "After your visit (demo)", bank.customer_item_ids),
        ):
            draft = await self.stubs.survey.CreateSurvey(
                survey_pb.CreateSurveyRequest(
                    name=name,
                    kind=_KINDS[kind],
                    item_ids=item_ids,
                    min_group_size=k,
                    language="en",
                ),
                timeout=self.deadline,
            )
            await self.stubs.survey.PublishSurvey(
                survey_pb.PublishSurveyRequest(survey_id=draft.survey.survey_id),
                timeout=self.deadline,
            )
            if kind == "employee":
                self.employee_survey = draft.survey.survey_id
            else:
                self.customer_survey = draft.survey.survey_id
        self.progress.note(
            f"published an employee pulse ({len(bank.employee_item_ids)} items) and a "
            f"customer survey ({len(bank.customer_item_ids)} items) from the item bank"
        )

    async def employee_waves(self) -> None:
        org = self.org
        waves = await self.stubs.survey.ScheduleWave(
            survey_pb.ScheduleWaveRequest(
                survey_id=self.employee_survey,
                audience_unit_id=org.root_id,
                cadence=survey_pb.CADENCE_MONTHLY,
                first_opens_on=org.wave_opens_on(0).isoformat(),
                count=len(org.periods),
                open_days=14,
            ),
            timeout=self.deadline,
        )
        by_period = {w.period: w for w in waves.waves}
        answers: dict[tuple[int, str], EmployeeAnswer] = {
            (a.period, org.employees[a.employee].email): a for a in org.answers
        }
        item_ids = [s.item_id for s in org.bank.employee]
        total = len(org.answers)
        invited = suppressed = unexpected = 0
        for period in org.periods:
            if period.index == org.config.reorg_at:
                await self.reorganise()
            wave = by_period.get(period.label)
            if wave is None:
                raise DemoFailed(f"no wave was scheduled for {period.label}")
            opened = await self.stubs.survey.OpenWave(
                survey_pb.OpenWaveRequest(wave_id=wave.wave_id), timeout=max(60.0, self.deadline)
            )
            invited += opened.invitations_issued
            suppressed += opened.suppressed_by_contact_budget
            tokens = await self.mailbox.wait_for_wave(
                wave.wave_id, opened.invitations_issued, timeout_s=120.0
            )
            requests = []
            for contact, token in tokens.items():
                answer = answers.get((period.index, contact))
                if answer is None:
                    continue  # generated as not responding (or not expected on the roster)
                requests.append(
                    resp_pb.SubmitRequest(
                        token=token,
                        answers=_answers(
                            item_ids, answer.scores, org.bank.employee_comment, answer.comment
                        ),
                        idempotency_key=f"demo-{org.seed}-{period.label}-{contact}",
                        client_id=_client_id(contact),
                    )
                )
            unexpected += sum(1 for (p, c) in answers if p == period.index and c not in tokens)

            async def tracked(request: resp_pb.SubmitRequest) -> bool:
                ok = await self.submitter.submit(request, "employee")
                self.progress.stage("employee answers", self.tally.employee, total)
                return ok

            await _gather_bounded(tracked(r) for r in requests)
            await self.stubs.survey.CloseWave(
                survey_pb.CloseWaveRequest(wave_id=wave.wave_id), timeout=self.deadline
            )
            self.progress.note(
                f"{period.label}: wave opened for {opened.invitations_issued} people, "
                f"{len(requests)} answered, wave closed"
            )
        self.counts["employee_invitations"] = invited
        self.counts["employee_suppressed_by_contact_budget"] = suppressed
        # Responders the generator planned but the survey service did not invite.
        self.counts["employee_answers_without_invitation"] = unexpected

    async def reorganise(self) -> None:
        for move in self.org.moves:
            await self.stubs.survey.UpdateUnit(
                survey_pb.UpdateUnitRequest(
                    unit_id=move.unit_id,
                    parent_id=move.parent_id,
                    effective_from=move.effective_from.isoformat(),
                ),
                timeout=self.deadline,
            )
        if self.org.moves:
            when = self.org.moves[0].effective_from.isoformat()
            self.progress.note(
                f"reorganisation: {len(self.org.moves)} teams moved to another department "
                f"from {when}"
            )

    async def publish_interactions(self) -> None:
        interactions = self.org.interactions
        send = self._publish if self.transport == "nats" else self._record
        slots = asyncio.Semaphore(CONCURRENCY)

        async def bounded(interaction: Interaction) -> None:
            async with slots:
                await send(interaction)

        done = 0
        for start in range(0, len(interactions), PUBLISH_CHUNK):
            chunk = interactions[start : start + PUBLISH_CHUNK]
            await asyncio.gather(*(bounded(i) for i in chunk))
            done += len(chunk)
            self.progress.stage("interactions published", done, len(interactions))

    async def _record(self, interaction: Interaction) -> None:
        reply = await _retrying(
            lambda: self.stubs.survey.RecordInteraction(
                survey_pb.RecordInteractionRequest(
                    interaction=survey_pb.Interaction(
                        interaction_id=interaction.interaction_id,
                        unit_id=interaction.unit_id,
                        occurred_at=interaction.occurred_at,
                        channel=interaction.channel,
                        customer_key=interaction.customer_key,
                        customer_contact=interaction.contact,
                    ),
                    survey_id=self.customer_survey,
                ),
                timeout=self.deadline,
            )
        )
        if reply.decision == survey_pb.INTERACTION_DECISION_INVITED:
            self.recorded_invited += 1

    async def _publish(self, interaction: Interaction) -> None:
        event = events_pb2.InteractionCompleted(
            interaction_id=interaction.interaction_id,
            unit_id=interaction.unit_id,
            occurred_at=interaction.occurred_at,
            channel=interaction.channel,
            customer_key=interaction.customer_key,
            customer_contact=interaction.contact,
        )
        await publish_event(
            self.js,
            INTERACTION_COMPLETED,
            event,
            msg_id=f"interaction:{interaction.interaction_id}",
        )

    async def answer_customers(self, published: asyncio.Event) -> None:
        """Answer invitations as they arrive until the survey service has decided on every
        published interaction and every invitation has been read."""
        by_id = {i.interaction_id: i for i in self.org.interactions}
        item_ids = [s.item_id for s in self.org.bank.customer]
        comment_item = self.org.bank.customer_comment
        in_flight: set[asyncio.Task[bool]] = set()
        invited = 0

        async def answer(interaction: Interaction, token: str) -> bool:
            ok = await self.submitter.submit(
                resp_pb.SubmitRequest(
                    token=token,
                    answers=_answers(
                        item_ids, interaction.scores, comment_item, interaction.comment
                    ),
                    idempotency_key=f"demo-{self.org.seed}-{interaction.interaction_id}",
                    share_comment_with_team=bool(interaction.comment),
                    client_id=_client_id(interaction.contact),
                ),
                "customer",
            )
            self.customer_done += 1
            self.progress.stage("customer answers", self.customer_done, self.customer_expected)
            return ok

        async def drain_queue() -> None:
            nonlocal invited
            while not self.mailbox.customer.empty():
                interaction_id, token = self.mailbox.customer.get_nowait()
                interaction = by_id.get(interaction_id)
                if interaction is None:
                    continue
                invited += 1
                self.invited_ids.add(interaction_id)
                if interaction.responds:
                    task = asyncio.create_task(answer(interaction, token))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)

        while True:
            await drain_queue()
            if published.is_set() and await self._all_invitations_read():
                await drain_queue()
                break
            await self.mailbox.wait_changed(timeout_s=0.5)
        if in_flight:
            await asyncio.gather(*in_flight)
        self.counts["customer_invitations"] = invited
        self.counts["interactions_not_invited"] = len(self.org.interactions) - invited
        # Re-base the bar's total on the invitations the survey service actually sent.
        self.progress.stage("customer answers", self.customer_done, self.customer_done)

    async def _all_invitations_read(self) -> bool:
        if self.transport == "grpc":
            return self.mailbox.customer_received >= self.recorded_invited
        if not await self._interactions_decided():
            return False
        return self.mailbox.customer_received >= await self._customer_invitations()

    async def _interactions_decided(self) -> bool:
        """The survey service has handled every interaction event (its consumer is empty)."""
        try:
            info = await self.js.consumer_info(STREAM, SURVEY_INTERACTION_CONSUMER)
        except nats.js.errors.NotFoundError:
            return False
        return bool(info.num_pending == 0 and info.num_ack_pending == 0)

    async def _customer_invitations(self) -> int:
        listed = await self.stubs.survey.ListInvitations(
            survey_pb.ListInvitationsRequest(survey_id=self.customer_survey, limit=1),
            timeout=self.deadline,
        )
        return int(listed.total)

    async def wait_counted(self, baseline: int, timeout_s: float) -> int:
        expected = self.tally.submitted
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        counted = 0
        while True:
            stats = await self.stubs.correlation.GetIngestionStats(
                corr_pb.GetIngestionStatsRequest(), timeout=self.deadline
            )
            counted = int(stats.responses_counted) - baseline
            self.progress.stage("counted", counted, expected)
            if counted >= expected:
                return counted
            if loop.time() > deadline:
                self.progress.note(
                    f"timed out after {timeout_s:.0f} s: the correlation service counted "
                    f"{counted} of {expected} responses (see its log, and the "
                    "pulse.deadletter.* subjects for poison messages)"
                )
                return counted
            await asyncio.sleep(0.5)

    async def report(self) -> corr_pb.LinkageReport:
        org = self.org
        reply = await self.stubs.correlation.RunLinkageReport(
            corr_pb.RunLinkageReportRequest(
                viewer=types_pb2.Viewer(viewer_id="pulse-demo"),
                scope_unit_id=org.root_id,
                period_from=org.periods[0].label,
                period_to=org.periods[-1].label,
                predictors=list(TREATMENT_CONSTRUCTS),
                outcome=org.config.outcome,
                max_lag=2,
                covariates=["unit_size"],
                options=corr_pb.LinkageOptions(
                    bootstrap_resamples=1000,
                    permutation_resamples=1000,
                    confidence_level=0.95,
                    method="pearson",
                    random_seed=org.seed,
                ),
            ),
            timeout=max(120.0, self.deadline),
        )
        return reply.report


def headline(report: corr_pb.LinkageReport, predictor: str) -> corr_pb.PredictorLinkage | None:
    for linkage in report.linkages:
        if linkage.predictor == predictor:
            return linkage
    return None


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
    ``replicates`` of the Monte Carlo default to about 12,000 simulated units in all.
    The stack must run with ``demo_env(config)``."""
    if interactions not in TRANSPORTS:
        raise ValueError(f"interactions must be one of {', '.join(TRANSPORTS)}")
    progress = progress or Progress()
    if replicates is None:
        replicates = max(40, math.ceil(12_000 / config.preset.front_line_teams))
    started = time.monotonic()
    bank = await load_bank(stubs)
    org = await asyncio.to_thread(generate, config, seed, bank)
    progress.note(
        f"generated {len(org.units)} units ({len(org.front_line_teams)} front-line teams), "
        f"{len(org.employees)} employees, {len(org.periods)} months from "
        f"{org.periods[0].label}, {len(org.interactions)} customer interactions"
    )
    expected_task = asyncio.create_task(
        asyncio.to_thread(expected_observed_r, config, seed, replicates, bank)
    )
    baseline = int(
        (
            await stubs.correlation.GetIngestionStats(
                corr_pb.GetIngestionStatsRequest(), timeout=stubs.deadline_s
            )
        ).responses_counted
    )
    run = _Run(stubs, js, org, progress, interactions)
    await run.mailbox.start()
    try:
        mark = time.monotonic()
        await run.import_org()
        await run.create_surveys()
        run.timings["setup"] = time.monotonic() - mark

        mark = time.monotonic()
        published = asyncio.Event()

        async def publish() -> None:
            await run.publish_interactions()
            published.set()

        await asyncio.gather(run.employee_waves(), publish(), run.answer_customers(published))
        run.timings["drive"] = time.monotonic() - mark
        mark = time.monotonic()
        counted = await run.wait_counted(baseline, count_timeout_s)
        run.timings["count"] = time.monotonic() - mark
    finally:
        await run.mailbox.stop()

    mark = time.monotonic()
    report = await run.report()
    run.timings["report"] = time.monotonic() - mark
    expected = await expected_task
    linkage = headline(report, config.predictor)
    pearson = linkage.pearson if linkage is not None else corr_pb.Estimate()
    estimate = EstimateOut(
        r=pearson.r if linkage is not None else math.nan,
        ci_low=pearson.ci_low if linkage is not None else math.nan,
        ci_high=pearson.ci_high if linkage is not None else math.nan,
        disattenuated_r=linkage.disattenuated_r if linkage is not None else math.nan,
        p_value=pearson.p_value if linkage is not None else math.nan,
        n=pearson.n,
        method=pearson.method or "pearson",
    )
    lags = {}
    if linkage is not None:
        lags = {str(lag.lag): lag.estimate.r for lag in linkage.lags}
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
        true_latent_r=config.true_latent_r,
        expected_observed_r=expected,
        estimate=estimate,
        units_reported=report.units_reported,
        units_suppressed=report.units_suppressed,
        report_id=report.report_id,
        elapsed_s=round(time.monotonic() - started, 2),
        size=config.size,
        seed=seed,
        predictor=config.predictor,
        outcome=config.outcome,
        lag_periods=config.lag_periods,
        periods=[p.label for p in org.periods],
        generated_r=org.observed(invited=run.invited_ids).correlation(),
        verdict_level=report.verdict.level,
        verdict_text=report.verdict.text,
        interval_covers_expected=estimate.ci_low <= expected <= estimate.ci_high,
        lags=lags,
        counts=counts,
        timings_s={k: round(v, 2) for k, v in run.timings.items()},
    )
