"""The demo's year of history: its months are past months, so that the correlation service
releases them (a period's numbers are released only once it has ended plus a grace,
``pulse_correlation.releases``).

* Employees: their past answers go through backfilled waves, tokens and ``Submit``
  (``backfill``). ``import_history(run, EMPLOYEE)`` still imports them in one audited
  ``ImportResponses`` batch (the fast path, kept for comparison and tools).
* Customers: the answers of all but the last ``DemoConfig.live_months`` months are imported
  the same way (customer rows carry the interaction's date and channel); the interactions
  of the last months go through the live path (events, the survey service's invitation,
  ``Submit`` with consent to share praise, counting). The stack the demo starts keeps tokens
  for ``HISTORY_TTL_DAYS`` (``PULSE_TOKEN_TTL_DAYS``), so the survey service still invites
  for those past interactions. (Imports are the fast path: a live answer costs an event, an
  invitation and a submission; an import row a bulk insert.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta

from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse.types.v1 import types_pb2
from pulse_common.measures import EMPLOYEE, Population
from pulse_common.periods import Period, period_of

from pulse_cli.demo.run import DemoFailed, DemoRun
from pulse_cli.demo.submit import answers_of

# Days after a month's last day by which the correlation service has released it: the
# demo's stack sets its ceiling (PULSE_RELEASE_MAX_WAIT_DAYS, ``setup.DEMO_ENV``) to this,
# since each month's backfilled wave closes only today; the last month must be released.
RELEASE_GRACE_DAYS = 7
HISTORY_TTL_DAYS = 365  # the largest PULSE_TOKEN_TTL_DAYS
ROWS_PER_NOTE = 500


def last_released_month(today: date) -> Period:
    """The latest month whose numbers the correlation service releases today."""
    month = period_of(today, "month").shift(-1)
    while today < month.end + timedelta(days=RELEASE_GRACE_DAYS + 1):
        month = month.shift(-1)
    return month


def history_start_month(periods: int, today: date | None = None) -> str:
    """The first of ``periods`` months that end with the last released one."""
    last = last_released_month(today or date.today())
    return last.shift(-(periods - 1)).label


def _employee_rows(run: DemoRun) -> Iterator[resp_pb.ImportRow]:
    org = run.org
    item_ids = [s.item_id for s in org.bank.employee]
    for line, answer in enumerate(org.answers, start=1):
        yield resp_pb.ImportRow(
            line=line,
            unit_id=org.employees[answer.employee].unit_id,
            period=org.periods[answer.period].label,
            kind=types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
            answers=answers_of(item_ids, answer.scores, org.bank.employee_comment, answer.comment),
        )


def _customer_rows(run: DemoRun) -> Iterator[resp_pb.ImportRow]:
    org = run.org
    item_ids = [s.item_id for s in org.bank.customer]
    for line, i in enumerate(run.imported_interactions(), start=1):
        yield resp_pb.ImportRow(
            line=line,
            unit_id=i.unit_id,
            period=org.periods[i.period].label,
            kind=types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION,
            answers=answers_of(item_ids, i.scores, org.bank.customer_comment, i.comment),
            interaction_date=i.occurred_at[:10],
            channel=i.channel,
        )


async def import_history(run: DemoRun, population: Population) -> int:
    """Every generated answer of ``population`` in the imported months, one row each, in one
    audited import batch of that population's survey."""
    org = run.org
    employee = population == EMPLOYEE
    stage = f"{population} history"
    total = len(org.answers) if employee else len(run.imported_interactions())
    if total == 0:
        return 0
    source = _employee_rows(run) if employee else _customer_rows(run)
    survey_id = run.employee_survey if employee else run.customer_survey
    version = run.employee_version if employee else run.customer_version

    async def rows() -> AsyncIterator[resp_pb.ImportResponsesRequest]:
        yield resp_pb.ImportResponsesRequest(
            header=resp_pb.ImportHeader(
                survey_id=survey_id,
                survey_version=version,
                source_name=f"pulse demo {population} history (seed {org.seed})",
            )
        )
        for row in source:
            yield resp_pb.ImportResponsesRequest(row=row)
            if row.line % ROWS_PER_NOTE == 0:
                run.progress.stage(stage, row.line, total)

    reply = await run.stubs.response.ImportResponses(rows(), timeout=max(120.0, run.deadline))
    if reply.rejected:
        first = reply.rejected[0]
        raise DemoFailed(
            f"the {population} history import rejected {len(reply.rejected)} rows (line "
            f"{first.line}, {first.field}: {first.reason})"
        )
    run.progress.stage(stage, reply.accepted, total)
    run.tally.submitted += reply.accepted
    if employee:
        run.tally.employee += reply.accepted
    else:
        run.tally.customer += reply.accepted
    run.counts[f"{population}_history_imported"] = int(reply.accepted)
    months = len(org.periods) if employee else run.live_from
    run.progress.note(
        f"imported {reply.accepted:,} {population} answers of {months} past months "
        f"(audited batch {reply.batch_id[:8]}, listed by ListImports)"
    )
    return int(reply.accepted)
