"""RunLinkageReport: aggregates -> released analysis units -> unit table -> statistics ->
report, stored and announced, in one unit of work.

Cost: everything reads the (unit, period[, item]) aggregates, O(units x periods x items),
independent of the number of responses."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import asdict

from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse.events.v1 import events_pb2
from pulse_common import subjects
from pulse_common.event_loop import settle_heap

from pulse_correlation import org_repository as org_repo
from pulse_correlation import release_repository as release_repo
from pulse_correlation import report_repository as reports_repo
from pulse_correlation.analysis import analyse
from pulse_correlation.context import Deps
from pulse_correlation.releases import FrozenPeriod
from pulse_correlation.report_data import load_report_data
from pulse_correlation.report_model import ReportRequest
from pulse_correlation.report_pb import ReportIdentity, report_message
from pulse_correlation.report_release import frozen_report_data, release_report
from pulse_correlation.report_reliability import linkage_reliability
from pulse_correlation.unit_table import build_unit_table
from pulse_correlation.version import code_version

_SETTLED = "linkage.settled"


def _inputs(request: ReportRequest) -> dict[str, object]:
    """The request as stored beside the report."""
    inputs = asdict(request)
    viewer = inputs.pop("viewer")
    return {"viewer_id": viewer["viewer_id"], "viewer_scope": viewer["scope_unit_id"], **inputs}


async def run_report(deps: Deps, request: ReportRequest) -> pb.LinkageReport:
    viewer_id = request.viewer.viewer_id
    async with deps.db.unit_of_work() as uow:
        versions = await org_repo.load_org(uow.conn)
        # Only released periods, as frozen, enter a report (``report_release``).
        periods, fresh = await release_repo.freeze_ended(
            uow.conn,
            request.period_from,
            request.period_to,
            versions,
            deps.today(),
            deps.settings.release,
        )
        frozen = await release_repo.cached_frozen(uow.conn, deps.read_cache, periods, fresh)
        data = await load_report_data(uow.conn, request, deps.today(), versions, frozen)
        channels = (
            await release_repo.frozen_channels(uow.conn, data.measures.population, periods)
            if data.channels
            else []
        )
        data = frozen_report_data(data, frozen, channels)
        release = release_report(data, frozen, deps.k)
        table = build_unit_table(data, release, request)
        # CPU-bound resampling runs off the event loop so consumers and RPCs keep flowing.
        body = await asyncio.to_thread(analyse, table, request.options)
        report = report_message(
            body,
            request,
            ReportIdentity(
                report_id=str(uuid.uuid4()),
                created_at=deps.now().isoformat(timespec="seconds"),
                scope_unit_id=data.scope.root,
                min_group_size=max(release.k_of.values()),
                code_version=code_version(),
            ),
            linkage_reliability(data, release, request.options.confidence_level),
        )
        await reports_repo.insert_report(
            uow.conn,
            reports_repo.LINKAGE,
            report,
            viewer_id=viewer_id,
            viewer_scope=request.viewer.scope_unit_id,
            inputs=_inputs(request),
        )
        await uow.enqueue(
            subjects.REPORT_READY,
            events_pb2.ReportReady(
                report_id=report.report_id,
                scope_unit_id=report.scope_unit_id,
                outcome=report.outcome,
                created_at=report.created_at,
            ),
            msg_id=f"report:{report.report_id}",
        )
    # Committed: the periods this report froze may now be kept like any other.
    release_repo.keep_frozen(deps.read_cache, frozen, fresh)
    _settle(frozen)
    return report


def _settle(frozen: Sequence[FrozenPeriod]) -> None:
    """Once a report has read periods new to the process's cache (and derived from them
    what it keeps: decisions, columns), move them out of the garbage collector's sight
    (``settle_heap``): they live as long as the cache, and each full collection walked
    them all, ~45 ms per report at 1M responses, more the more cells had data (issue 20).
    The one collection this costs is paid by the first report over those periods."""
    new = [f for f in frozen if not f.memo.get(_SETTLED)]
    if new:
        settle_heap()
        for f in new:
            f.memo[_SETTLED] = True
