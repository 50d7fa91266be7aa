"""When a period is released (issue 13): on a day fixed by the calendar and the period's
waves, never by the first read; frozen by the service's background task, once, even with
several freezers at the same time. Real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import datetime as dt

import nats
import pytest
from pulse.correlation.v1 import correlation_service_pb2 as pb
from pulse.correlation.v1 import correlation_service_pb2_grpc as pb_grpc
from pulse.events.v1 import events_pb2
from pulse.types.v1 import types_pb2
from pulse_common import subjects
from pulse_common.config import ConfigError, Settings
from pulse_common.messaging import publish_event
from pulse_common.periods import label_of, period_end
from pulse_correlation import org_repository as org_repo
from pulse_correlation import release_repository as release_repo
from pulse_correlation.aggregates import ConstructRow
from pulse_correlation.app import DEFINITION
from pulse_correlation.org import OrgSnapshot, UnitInfo
from pulse_correlation.releases import FrozenPeriod, ReleaseRule, WaveState, late_counts
from pulse_correlation.settings import load_correlation_settings
from pulse_testing.correlation import eventually, publish_org, publish_surveys, response_recorded
from pulse_testing.security import as_viewer, tools_channel
from pulse_testing.stack import inprocess_stack, settings_for_tests

SUPPORT = "treatment.support"
SURVEY = types_pb2.SurveyDefinition(
    survey_id="support5",
    version=1,
    kind=types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
    items=[types_pb2.Item(item_id="s1", construct=SUPPORT, scale=types_pb2.SCALE_LIKERT_5)],
    min_group_size=5,
)
D = dt.date


def closed(on: dt.date) -> WaveState:
    return WaveState(D(2026, 3, 2), on)


OPEN = WaveState(D(2026, 3, 2), None)


def test_release_day_follows_grace_waves_and_ceiling() -> None:
    rule = ReleaseRule(grace_days=2, max_wait_days=31)
    # March ends on the 31st: no wave, released after the grace.
    assert rule.release_day("2026-03", []) == D(2026, 4, 3)
    # Waves closed before the grace ran out change nothing.
    assert rule.release_day("2026-03", [closed(D(2026, 3, 20)), closed(D(2026, 4, 1))]) == D(
        2026, 4, 3
    )
    # The last wave closing late: released the day after it closed.
    assert rule.release_day("2026-03", [closed(D(2026, 3, 20)), closed(D(2026, 4, 10))]) == D(
        2026, 4, 11
    )
    # A wave still open (or one closed after the ceiling): at most 31 days after the end.
    assert rule.release_day("2026-03", [closed(D(2026, 4, 10)), OPEN]) == D(2026, 5, 2)
    assert rule.release_day("2026-03", [closed(D(2026, 6, 1))]) == D(2026, 5, 2)
    assert not rule.released("2026-03", [OPEN], D(2026, 5, 1))
    assert rule.released("2026-03", [OPEN], D(2026, 5, 2))
    # A backfill opened after the ceiling holds the period while open (at most 31 days
    # after its opening), and lets it go once closed.
    backfill = WaveState(D(2026, 9, 1), None)
    assert rule.release_day("2026-03", [backfill]) == D(2026, 10, 3)
    assert rule.release_day("2026-03", [WaveState(None, None)]) == D(2026, 5, 2)
    assert rule.release_day("2026-03", [WaveState(D(2026, 9, 1), D(2026, 9, 1))]) == D(2026, 5, 2)
    # No grace: the day after the end; a ceiling below the grace is the grace.
    assert ReleaseRule(0, 31).release_day("2026-03", []) == D(2026, 4, 1)
    assert ReleaseRule(5, 0).release_day("2026-03", [OPEN]) == D(2026, 4, 6)


def test_release_settings_come_from_the_environment() -> None:
    def release(**env: str) -> ReleaseRule:
        common = settings_for_tests("postgresql://db/pulse", "nats://nats:4222", **env)
        return load_correlation_settings(common).release

    assert release() == ReleaseRule(2, 31)
    assert release(PULSE_RELEASE_GRACE_DAYS="7", PULSE_RELEASE_MAX_WAIT_DAYS="45") == ReleaseRule(
        7, 45
    )
    with pytest.raises(ConfigError, match="PULSE_RELEASE_GRACE_DAYS"):
        release(PULSE_RELEASE_GRACE_DAYS="-1")


def answer(unit: str, period: str, score: int) -> events_pb2.ResponseRecorded:
    return response_recorded(SURVEY, unit, period, {"s1": score})


async def test_a_period_is_released_on_its_day_once_its_waves_closed(settings: Settings) -> None:
    today = dt.datetime.now(dt.UTC).date()
    last_month = label_of(today.replace(day=1) - dt.timedelta(days=1), "month")
    long_ago = "2026-02"  # no wave, past its grace: the background task releases it
    async with inprocess_stack(settings, [DEFINITION]) as stack:
        assert stack.settings.nats_url is not None
        nc = await nats.connect(stack.settings.nats_url)
        js = nc.jetstream()
        try:
            await publish_org(js, [("R", ""), ("A", "R")])
            await publish_surveys(js, (SURVEY,))
            opened = events_pb2.WaveOpened(wave_id="w1", survey_id="support5", period=last_month)
            await publish_event(js, subjects.WAVE_OPENED, opened, msg_id="wave-opened:w1")
            events = [answer("A", p, s) for p in (last_month, long_ago) for s in (5, 4, 3, 2, 2)]
            for event in events:
                await publish_event(js, subjects.RESPONSE_RECORDED, event, msg_id=event.response_id)
            pool = stack.services["correlation"].context.pool
            async with tools_channel(stack.address("correlation")) as channel:
                stub: pb_grpc.CorrelationServiceAsyncStub = pb_grpc.CorrelationServiceStub(channel)

                async def counted() -> bool:
                    stats = await stub.GetIngestionStats(pb.GetIngestionStatsRequest())
                    waves = await pool.fetchval("SELECT count(*) FROM release_waves")
                    return stats.responses_counted == len(events) and waves == 1

                await eventually(counted)
                # Nobody has read anything: the restarted service's task releases the old
                # period on its own, not the one whose wave is open.
                await stack.restart("correlation", DEFINITION)
                pool = stack.services["correlation"].context.pool

                async def released_alone() -> bool:
                    rows = await pool.fetch("SELECT period FROM release_periods")
                    return [r["period"] for r in rows] == [long_ago]

                await eventually(released_alone)

            async def cells() -> list[tuple[str, bool, str]]:
                async with tools_channel(stack.address("correlation")) as channel:
                    stub = pb_grpc.CorrelationServiceStub(channel)
                    scores = await stub.GetScores(
                        pb.GetScoresRequest(
                            period_from=last_month, period_to=last_month, constructs=[SUPPORT]
                        ),
                        metadata=as_viewer("analyst", ""),
                    )
                return sorted(
                    (c.unit_id, c.suppressed, c.suppression_reason)
                    for c in scores.cells
                    if c.unit_id == "A"
                )

            # A read while the wave is open does not release the period.
            assert await cells() == [("A", True, "period_open")]
            assert await pool.fetchval("SELECT count(*) FROM release_periods") == 1

            closed = events_pb2.WaveClosed(wave_id="w1", survey_id="support5", period=last_month)
            await publish_event(js, subjects.WAVE_CLOSED, closed, msg_id="wave-closed:w1")
            # A replayed opening does not reopen it.
            await publish_event(js, subjects.WAVE_OPENED, opened, msg_id="wave-opened:w1:again")

            async def wave_closed() -> bool:
                found = await pool.fetchval("SELECT closed_on FROM release_waves")
                return bool(found == today)

            await eventually(wave_closed)
            await asyncio.sleep(0.3)  # the replayed opening handled too
            kept = await pool.fetchrow("SELECT opened_on, closed_on FROM release_waves")
            assert kept is not None
            assert (kept["opened_on"], kept["closed_on"]) == (today, today)

            rule = ReleaseRule()
            day = rule.release_day(last_month, [WaveState(today, today)])
            assert day == max(
                period_end(last_month) + dt.timedelta(days=3), today + dt.timedelta(1)
            )
            async with pool.acquire() as conn, conn.transaction():
                before = await release_repo.freeze_due(
                    conn, rule, day - dt.timedelta(days=1), org_repo.load_org
                )
            assert before == []

            # Several instances' tasks on the release day: the period is frozen once.
            async def one_pass() -> list[str]:
                async with pool.acquire() as conn, conn.transaction():
                    return await release_repo.freeze_due(conn, rule, day, org_repo.load_org)

            passes = await asyncio.gather(*(one_pass() for _ in range(3)))
            assert sorted(passes) == [[], [], [last_month]]
            assert (
                await pool.fetchval(
                    "SELECT count(*) FROM release_construct WHERE period = $1", last_month
                )
                == 1
            )
            # Frozen by the task: every read now shows the released number.
            assert await cells() == [("A", False, "")]
        finally:
            await nc.close()


async def test_a_wave_that_never_closes_holds_its_period_only_until_the_ceiling(
    settings: Settings,
) -> None:
    period = "2026-05"
    async with inprocess_stack(settings, [DEFINITION]) as stack:
        assert stack.settings.nats_url is not None
        nc = await nats.connect(stack.settings.nats_url)
        js = nc.jetstream()
        try:
            await publish_org(js, [("R", ""), ("A", "R")])
            await publish_surveys(js, (SURVEY,))
            events = [answer("A", period, 4) for _ in range(5)]
            for event in events:
                await publish_event(js, subjects.RESPONSE_RECORDED, event, msg_id=event.response_id)
            pool = stack.services["correlation"].context.pool

            async def counted() -> bool:
                return bool(await pool.fetchval("SELECT count(*) FROM agg_population"))

            await eventually(counted)
            # The wave opens after the responses were counted: recorded before any release.
            async with pool.acquire() as conn:
                await release_repo.record_wave(conn, "stuck", period, D(2026, 5, 4), None)
            rule = ReleaseRule(grace_days=2, max_wait_days=31)
            ceiling = D(2026, 7, 2)  # 31 days after 31 May, plus one
            async with pool.acquire() as conn, conn.transaction():
                held = await release_repo.freeze_due(
                    conn, rule, ceiling - dt.timedelta(days=1), org_repo.load_org
                )
                released = await release_repo.freeze_due(conn, rule, ceiling, org_repo.load_org)
            assert (held, released) == ([], [period])
            assert (
                await pool.fetchval(
                    "SELECT released_on FROM release_periods WHERE period = $1", period
                )
                == ceiling
            )
        finally:
            await nc.close()


def _frozen(counts: dict[str, int]) -> FrozenPeriod:
    units = {
        "R": UnitInfo("R", "", "R", ""),
        "A": UnitInfo("A", "R", "A", ""),
        "T1": UnitInfo("T1", "A", "T1", ""),
        "T2": UnitInfo("T2", "A", "T2", ""),
    }
    rows = [_row(unit, n) for unit, n in counts.items()]
    return FrozenPeriod("2026-03", OrgSnapshot(units, {}), rows, [], {})


def _row(unit: str, n: int) -> ConstructRow:
    return ConstructRow(unit, "2026-03", SUPPORT, "employee", n, 50.0 * n, 2500.0 * n)


def test_late_counts_are_released_by_the_whole_tree_rule() -> None:
    frozen = _frozen({"T1": 6, "T2": 1})
    # Five late answers in T1 and one in T2: A's six late answers are released (and the
    # same six at R), T1's five are not: with A's six they would single out T2's one.
    live = [_row("T1", 11), _row("T2", 2), _row("T1", 0)]
    assert late_counts(frozen, live, 5) == {SUPPORT: {"R": 6, "A": 6}}
    # Fewer than k late answers: none released; none at all: nothing to decide.
    assert late_counts(frozen, [_row("T1", 8), _row("T2", 1)], 5) == {SUPPORT: {}}
    assert late_counts(frozen, [_row("T1", 6), _row("T2", 1)], 5) == {}
    # A measure frozen under a larger k keeps it for its late answers.
    frozen.measure_k["employee:" + SUPPORT] = 7
    assert late_counts(frozen, live, 5) == {SUPPORT: {}}


async def test_late_arrivals_are_counted_beside_the_released_number(settings: Settings) -> None:
    period = "2026-03"
    async with inprocess_stack(settings, [DEFINITION]) as stack:
        assert stack.settings.nats_url is not None
        nc = await nats.connect(stack.settings.nats_url)
        js = nc.jetstream()
        try:
            await publish_org(js, [("R", ""), ("A", "R")])
            await publish_surveys(js, (SURVEY,))

            async def send(scores: list[int]) -> None:
                for event in (answer("A", period, s) for s in scores):
                    await publish_event(
                        js, subjects.RESPONSE_RECORDED, event, msg_id=event.response_id
                    )

            async with tools_channel(stack.address("correlation")) as channel:
                stub: pb_grpc.CorrelationServiceAsyncStub = pb_grpc.CorrelationServiceStub(channel)

                async def counted(n: int) -> None:
                    async def check() -> bool:
                        stats = await stub.GetIngestionStats(pb.GetIngestionStatsRequest())
                        return stats.responses_counted == n

                    await eventually(check)

                async def cell_a() -> tuple[int, float, int]:
                    reply = await stub.GetScores(
                        pb.GetScoresRequest(
                            period_from=period, period_to=period, constructs=[SUPPORT]
                        ),
                        metadata=as_viewer("analyst", ""),
                    )
                    (found,) = [c for c in reply.cells if c.unit_id == "A"]
                    return found.n, round(found.value, 6), found.late_n

                await send([5, 5, 5, 5, 5])
                await counted(5)
                assert await cell_a() == (5, 100.0, 0)  # released (frozen) by this read
                await send([1, 1])
                await counted(7)
                assert await cell_a() == (5, 100.0, 0)  # 2 late: fewer than k, not shown
                await send([1, 1, 1])
                await counted(10)
                assert await cell_a() == (5, 100.0, 5)  # the number itself never changes
        finally:
            await nc.close()


async def test_an_ordinary_wave_counts_from_its_declared_opening_a_backfill_from_now(
    settings: Settings,
) -> None:
    """A wave scheduled in the past (opened late) is held only to its period's ceiling; a
    backfill (an admin opening a past period) holds it from the day it really opened."""
    today = dt.datetime.now(dt.UTC).date()
    async with inprocess_stack(settings, [DEFINITION]) as stack:
        assert stack.settings.nats_url is not None
        nc = await nats.connect(stack.settings.nats_url)
        js = nc.jetstream()
        try:
            for wave_id, backfill in (("declared", False), ("backfill", True)):
                opened = events_pb2.WaveOpened(
                    wave_id=wave_id,
                    survey_id="support5",
                    period="2026-01",
                    opens_at="2026-01-05T00:00:00Z",
                    backfill=backfill,
                )
                await publish_event(js, subjects.WAVE_OPENED, opened, msg_id=f"wo:{wave_id}")
            pool = stack.services["correlation"].context.pool

            async def both() -> bool:
                return bool(await pool.fetchval("SELECT count(*) FROM release_waves") == 2)

            await eventually(both)
            rows = await pool.fetch("SELECT wave_id, opened_on FROM release_waves")
            kept = {row["wave_id"]: row["opened_on"] for row in rows}
            assert kept == {"declared": dt.date(2026, 1, 5), "backfill": today}
        finally:
            await nc.close()
