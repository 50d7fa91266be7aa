"""The employees' history through the services' real path (issue 19): for every past month
an admin ``BackfillWave`` (audited in the survey service's ``wave_backfills``, naming the
demo's identity and seed) opens a wave dated in that month with tokens valid for
``TOKEN_VALID_DAYS`` from now; the mailbox reads the invitations, every generated respondent
``Submit``s with their own token (bounded concurrency, safe retries: ``submit``), and
``CloseWave`` then announces the close so that the response service writes the held
answers. Months run concurrently; the submissions share one bound."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse_common.measures import EMPLOYEE

from pulse_cli.demo.generator import EmployeeAnswer
from pulse_cli.demo.run import DemoFailed, DemoRun
from pulse_cli.demo.submit import answers_of, client_id, retrying

WAVE_OPEN_DAYS = 14  # each month's wave opens on the 1st, as the generator assumes
TOKEN_VALID_DAYS = 2
MAILBOX_TIMEOUT_S = 120.0


async def _month(run: DemoRun, period: int, answers: list[EmployeeAnswer], done: list[int]) -> int:
    org = run.org
    request = survey_pb.BackfillWaveRequest(
        survey_id=run.employee_survey,
        audience_unit_id=org.root_id,
        opens_on=org.wave_opens_on(period).isoformat(),
        open_days=WAVE_OPEN_DAYS,
        token_valid_days=TOKEN_VALID_DAYS,
        reason=f"pulse demo employee history, {org.periods[period].label} (seed {org.seed})",
    )
    reply = await retrying(lambda: run.stubs.survey.BackfillWave(request, timeout=run.deadline))
    wave_id = reply.wave.wave_id
    tokens = await run.mailbox.wave_tokens(wave_id, reply.invitations_issued, MAILBOX_TIMEOUT_S)
    if len(tokens) < reply.invitations_issued:
        raise DemoFailed(
            f"only {len(tokens)} of {reply.invitations_issued} invitations of the "
            f"{org.periods[period].label} wave reached the mailbox"
        )
    item_ids = [s.item_id for s in org.bank.employee]
    total = len(org.answers)

    async def answer(a: EmployeeAnswer) -> bool:
        email = org.employees[a.employee].email
        token = tokens.get(email.lower())
        if token is None:  # not on the roster when the wave opened: nobody asked them
            run.tally.failed += 1
            run.tally.errors["employee:NotInvited"] = (
                run.tally.errors.get("employee:NotInvited", 0) + 1
            )
            return False
        ok = await run.submitter.submit(
            resp_pb.SubmitRequest(
                token=token,
                answers=answers_of(item_ids, a.scores, org.bank.employee_comment, a.comment),
                idempotency_key=f"demo-employee-{org.seed}-{period:03d}-{a.employee:07d}",
                client_id=client_id(email),
            ),
            EMPLOYEE,
        )
        done[0] += 1
        if done[0] % 100 == 0 or done[0] == total:
            run.progress.stage("employee history", done[0], total)
        return ok

    submitted = sum(await asyncio.gather(*(answer(a) for a in answers)))
    await retrying(
        lambda: run.stubs.survey.CloseWave(
            survey_pb.CloseWaveRequest(wave_id=wave_id), timeout=run.deadline
        )
    )
    return submitted


async def backfill_employee_history(run: DemoRun) -> int:
    """Every generated employee answer, month by month through backfilled waves."""
    by_period: dict[int, list[EmployeeAnswer]] = defaultdict(list)
    for answer in run.org.answers:
        by_period[answer.period].append(answer)
    done = [0]
    submitted = await asyncio.gather(
        *(_month(run, period, by_period[period], done) for period in range(len(run.org.periods)))
    )
    total = sum(submitted)
    run.counts["employee_history_submitted"] = total
    run.progress.note(
        f"submitted {total:,} employee answers of {len(run.org.periods)} past months through "
        "backfilled waves (BackfillWave: admin, audited; tokens, Submit, CloseWave)"
    )
    return total
