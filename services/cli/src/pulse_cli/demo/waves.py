"""The employee side of the demo: one wave a month, opened (the survey service issues a
token per person), answered by those the generator made respond (tokens read from NATS by
the mailbox), closed; the reorganisation happens half-way, between two waves."""

from __future__ import annotations

from dataclasses import dataclass

from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse_common.measures import EMPLOYEE
from pulse_common.periods import Period

from pulse_cli.demo.generator import EmployeeAnswer
from pulse_cli.demo.run import DemoFailed, DemoRun
from pulse_cli.demo.setup import reorganise
from pulse_cli.demo.submit import answers_of, client_id, gather_bounded
from pulse_cli.enums import cadence

OPEN_DAYS = 14
# Opening issues one token per person, and their invitations travel through NATS.
OPEN_WAVE_AT_LEAST_S = 60.0
TOKENS_TIMEOUT_S = 120.0

# (month position, contact) -> the answer the generator planned
Planned = dict[tuple[int, str], EmployeeAnswer]


@dataclass
class WaveOutcome:
    invited: int = 0
    suppressed: int = 0  # by the contact budget
    unexpected: int = 0  # planned answers of people the survey service did not invite


async def employee_waves(run: DemoRun) -> None:
    org = run.org
    scheduled = await run.stubs.survey.ScheduleWave(
        survey_pb.ScheduleWaveRequest(
            survey_id=run.employee_survey,
            audience_unit_id=org.root_id,
            cadence=cadence("monthly"),
            first_opens_on=org.wave_opens_on(0).isoformat(),
            count=len(org.periods),
            open_days=OPEN_DAYS,
        ),
        timeout=run.deadline,
    )
    by_period = {w.period: w for w in scheduled.waves}
    planned: Planned = {(a.period, org.employees[a.employee].email): a for a in org.answers}
    total = WaveOutcome()
    for index, month in enumerate(org.periods):
        if index == org.config.reorg_at:
            await reorganise(run)
        wave = by_period.get(month.label)
        if wave is None:
            raise DemoFailed(f"no wave was scheduled for {month.label}")
        outcome = await _run_wave(run, index, month, wave.wave_id, planned)
        total.invited += outcome.invited
        total.suppressed += outcome.suppressed
        total.unexpected += outcome.unexpected
    run.counts["employee_invitations"] = total.invited
    run.counts["employee_suppressed_by_contact_budget"] = total.suppressed
    run.counts["employee_answers_without_invitation"] = total.unexpected


async def _run_wave(
    run: DemoRun, index: int, month: Period, wave_id: str, planned: Planned
) -> WaveOutcome:
    """Open one month's wave, submit the planned answers with its tokens, close it."""
    org = run.org
    opened = await run.stubs.survey.OpenWave(
        survey_pb.OpenWaveRequest(wave_id=wave_id),
        timeout=max(OPEN_WAVE_AT_LEAST_S, run.deadline),
    )
    tokens = await run.mailbox.wait_for_wave(
        wave_id, opened.invitations_issued, timeout_s=TOKENS_TIMEOUT_S
    )
    item_ids = [s.item_id for s in org.bank.employee]
    requests = []
    for contact, token in tokens.items():
        answer = planned.get((index, contact))
        if answer is None:
            continue  # generated as not responding (or not expected on the roster)
        requests.append(
            resp_pb.SubmitRequest(
                token=token,
                answers=answers_of(
                    item_ids, answer.scores, org.bank.employee_comment, answer.comment
                ),
                idempotency_key=f"demo-{org.seed}-{month.label}-{contact}",
                client_id=client_id(contact),
            )
        )

    async def tracked(request: resp_pb.SubmitRequest) -> bool:
        ok = await run.submitter.submit(request, EMPLOYEE)
        run.progress.stage("employee answers", run.tally.employee, len(org.answers))
        return ok

    await gather_bounded(tracked(r) for r in requests)
    await run.stubs.survey.CloseWave(
        survey_pb.CloseWaveRequest(wave_id=wave_id), timeout=run.deadline
    )
    run.progress.note(
        f"{month.label}: wave opened for {opened.invitations_issued} people, "
        f"{len(requests)} answered, wave closed"
    )
    return WaveOutcome(
        invited=opened.invitations_issued,
        suppressed=opened.suppressed_by_contact_budget,
        unexpected=sum(1 for (p, c) in planned if p == index and c not in tokens),
    )
