"""The batch writer (issue 13): moves a group's held responses (``holding``) to the answer
tables in one transaction, in a random order, once at least ``k`` of them wait or their
wave has closed; their ``pulse.response.recorded`` events are enqueued in the same
transaction, so the correlation service sees them only then. A crash before the commit
leaves every held response where it was; the next trigger (a submit in the group, the
periodic sweep, the service's start, the wave's close) writes them."""

from __future__ import annotations

import asyncio
import logging

from pulse_response import holding_repository as repo
from pulse_response.context import Deps
from pulse_response.holding import (
    HoldKey,
    Unsealable,
    decode_response,
    holding_key,
    shuffled,
    unseal,
)
from pulse_response.recording import record

log = logging.getLogger(__name__)


async def write_batch(deps: Deps, key: HoldKey, *, wave_closed: bool = False) -> int:
    """Write ``key``'s waiting responses when their batch is due; how many were written
    (0 when not due)."""
    secret = holding_key(deps.settings.common.hmac_secret)
    async with deps.db.unit_of_work() as uow:
        await repo.lock_group(uow.conn, key)
        held, k, closes_on = await repo.waiting(uow.conn, key)
        closed = wave_closed or (closes_on is not None and closes_on <= deps.today())
        if not held or (len(held) < k and not closed):
            return 0
        responses, written = [], []
        for row in held:
            try:
                responses.append(decode_response(unseal(secret, row.sealed, key.associated_data())))
                written.append(row.held_id)
            except Unsealable:
                # Sealed under another secret: kept (never dropped) until it can be read.
                log.error("a held response cannot be unsealed; is PULSE_HMAC_SECRET the same?")
        for response in shuffled(responses):
            await record(uow, response)
        await repo.release(uow.conn, written)
    return len(written)


async def write_due(deps: Deps, closed_wave_id: str = "") -> int:
    """Write every group whose batch is due (``closed_wave_id``: a wave just closed)."""
    async with deps.db.connection() as conn:
        keys = await repo.due_groups(conn, deps.today(), closed_wave_id)
    written = 0
    for key in keys:
        written += await write_batch(deps, key, wave_closed=key.wave_id == closed_wave_id)
    return written


async def run_batch_writer(deps: Deps, interval_s: float) -> None:
    """The periodic sweep (also at start-up): groups of closed waves, and any batch a
    crash left due."""
    while True:
        try:
            written = await write_due(deps)
            if written:
                log.info("held responses written", extra={"count": written})
        except Exception:  # keep sweeping; the next round retries
            log.exception("batch writer sweep failed")
        await asyncio.sleep(interval_s)
