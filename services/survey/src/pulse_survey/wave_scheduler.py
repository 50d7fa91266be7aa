"""The wave timer: opens waves whose day has come, sends the reminder rounds that are due
(``PULSE_REMINDER_OFFSETS_DAYS`` before closing) and closes waves whose time is up, every
``PULSE_WAVE_SCHEDULER_INTERVAL_S`` seconds. Each wave is its own use case call, so one
that cannot open (opened by hand meanwhile, audience gone) does not stop the others."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import date

from pulse_common.db import Connection
from pulse_common.errors import DomainError

from pulse_survey import wave_repository as repo
from pulse_survey.context import Deps
from pulse_survey.wave_followup import rounds_due, send_due_reminders
from pulse_survey.waves import close_wave, open_wave

log = logging.getLogger(__name__)

# Which waves are due on a day, and what to do with each.
Finder = Callable[[Connection, date], Awaitable[list[uuid.UUID]]]
Action = Callable[[Deps, uuid.UUID], Awaitable[object]]


async def run_scheduler(deps: Deps, interval_s: float) -> None:
    while True:
        try:
            await tick(deps)
        except Exception:  # keep the scheduler alive; the next tick retries
            log.exception("wave scheduler tick failed")
        await asyncio.sleep(interval_s)


async def tick(deps: Deps) -> None:
    today = deps.today()

    async def due_to_remind(conn: Connection, day: date) -> list[uuid.UUID]:
        waves = await repo.open_waves(conn, day)
        return [uuid.UUID(w.wave_id) for w in waves if w.reminder_rounds < rounds_due(deps, w)]

    steps: list[tuple[str, Finder, Action]] = [
        ("open", repo.due_to_open, open_wave),
        ("remind", due_to_remind, send_due_reminders),
        ("close", repo.due_to_close, close_wave),
    ]
    for verb, due, act in steps:
        async with deps.db.connection() as conn:
            wave_ids = await due(conn, today)
        for wave_id in wave_ids:
            try:
                await act(deps, wave_id)
            except DomainError as error:
                log.warning("cannot %s wave %s: %s", verb, wave_id, error.message)
