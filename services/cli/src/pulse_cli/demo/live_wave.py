"""One live employee wave (issue 22): the demo's history waves are backfilled, closed months,
so their links open "this survey has closed". Once the history is in, the demo schedules and
opens (``ScheduleWave``, ``OpenWave``: the ordinary admin path) one wave of the employee
survey over the whole organisation, opening today, so the current month's links open the
form. Nobody answers it: it adds no response, and the current month is not one of the
demo's months, so the released history and the planted structure stay as they were. A few
of its links are printed (``survey_links``); every one is in the delivery log."""

from __future__ import annotations

from datetime import UTC, datetime

from pulse.survey.v1 import survey_service_pb2 as survey_pb

from pulse_cli.demo.run import DemoFailed, DemoRun

LIVE_OPEN_DAYS = 14
LIVE_LINKS = 3
MAILBOX_TIMEOUT_S = 120.0


async def open_live_wave(run: DemoRun) -> dict[str, str]:
    """Open today's employee wave; contact -> path (``/s/<token>``) of ``LIVE_LINKS`` of
    its invitations (the first contacts in order, so a seed prints the same people)."""
    today = datetime.now(UTC).date()
    scheduled = await run.stubs.survey.ScheduleWave(
        survey_pb.ScheduleWaveRequest(
            survey_id=run.employee_survey,
            audience_unit_id=run.org.root_id,
            cadence=survey_pb.CADENCE_ONCE,
            first_opens_on=today.isoformat(),
            count=1,
            open_days=LIVE_OPEN_DAYS,
        ),
        timeout=run.deadline,
    )
    wave = scheduled.waves[0]
    opened = await run.stubs.survey.OpenWave(
        survey_pb.OpenWaveRequest(wave_id=wave.wave_id), timeout=run.deadline
    )
    issued = opened.invitations_issued
    tokens = await run.mailbox.wave_tokens(wave.wave_id, issued, MAILBOX_TIMEOUT_S)
    if issued and not tokens:
        raise DemoFailed(f"none of the {issued} invitations of the live wave reached the mailbox")
    run.counts["live_employee_invitations"] = issued
    closes = opened.wave.closes_at[:10] or "its closing day"
    run.progress.note(
        f"opened a live employee wave for {opened.wave.period} ({issued:,} invitations, open "
        f"until {closes}): its links open the form"
    )
    return {contact: f"/s/{token}" for contact, token in sorted(tokens.items())[:LIVE_LINKS]}
