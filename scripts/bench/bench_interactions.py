#!/usr/bin/env python3
"""Benchmark: how many customer interactions per second does the survey service decide?
(not a test)

``pulse.interaction.completed`` events from CRM / help-desk systems each become a recorded
decision (invited, or suppressed with its reason) and, when invited, an invitation with its
``InvitationIssued`` event in the outbox. The demo publishes about 60,000 of them and must
finish in minutes on 2 cores, so the service must keep up with at least 400/s.

Everything runs on this machine: an embedded PostgreSQL and NATS JetStream in a temporary
directory (or the servers named by ``PULSE_DATABASE_URL`` / ``PULSE_NATS_URL``: a fresh
database is created and dropped; the NATS server must not hold a PULSE stream with
messages), the survey service started in-process with ``pulse_common.runtime.start_service``
(its delivery-log consumer and outbox relay included), all traffic on 127.0.0.1.

Steps (K interactions per phase; a few units with a reorganisation, one published customer
survey, the contact budget on, half the interactions sampled like the demo, customers
sometimes coming back so that some are suppressed by the budget):

1. baseline  raw JetStream publish rate: K ``InteractionCompleted`` payloads published
             (same publisher, same window of acks in flight) to ``pulse.bench.baseline``,
             which no consumer reads.
2. NATS      publish K interaction events on ``pulse.interaction.completed`` and wait until
             the ``interactions`` table holds them all: interactions/s = K / (first publish
             -> all recorded).
3. gRPC      K more interactions through ``RecordInteraction``, 32 callers at once.

Also a raw JetStream round in the same run: the same K payloads published on
``pulse.bench.raw`` while a durable pull consumer fetches (64 at a time) and acks them.

Targets (nothing asserts on time; PASS when met, INFO otherwise; exit code 0 unless the run
itself fails): NATS interactions/s >= 400; ``ratio interactions_vs_jetstream`` (NATS
interactions/s over the raw publish+consume+ack rate) >= 0.25 (issue 20). The ratios
against the raw publish rate and against the gRPC path measured in the same run are
printed as context.

Usage: bench_interactions.py [--quick] [--seed S]   (--quick: K = 1000, under a minute)
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import nats
import nats.js.errors
from harness import (
    bench_main,
    consumer_summary,
    publish_all,
    publish_consume_all,
    ratio,
    servers,
    wait_until,
)
from nats.js import JetStreamContext
from pulse.events.v1 import events_pb2
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse.survey.v1 import survey_service_pb2_grpc as pb_grpc
from pulse.types.v1 import types_pb2
from pulse_common import subjects
from pulse_common.config import load_settings
from pulse_common.runtime import start_service
from pulse_survey.app import DEFINITION
from pulse_survey.settings import load_survey_settings
from pulse_testing.security import tools_channel

EVENT_TYPE = events_pb2.InteractionCompleted.DESCRIPTOR.full_name

TARGET_PER_S = 400.0
RAW_SUBJECT = "pulse.bench.raw"
BASELINE_SUBJECT = "pulse.bench.baseline"
GRPC_CALLERS = 32
DIVISIONS, DEPARTMENTS, TEAMS = 3, 15, 130  # about the demo's medium org
CUSTOMER_ITEMS = ["csat.1", "nps.1", "staff.1", "ccomment.1"]
CHANNELS = ["call", "ticket", "visit", "chat"]
# Phases must end on their own: this is generous even for the slowest measured service.
PHASE_LIMIT_S = 900.0
ENV = {
    "PULSE_SURVEY_ADDR": "127.0.0.1:0",
    "PULSE_SHUTDOWN_GRACE_S": "0.5",
    "PULSE_LOG_LEVEL": "WARNING",
    "PULSE_WAVE_SCHEDULER_INTERVAL_S": "0",
    "PULSE_CONTACT_BUDGET_DAYS": "14",
    "PULSE_CUSTOMER_SAMPLE_RATE": "0.5",
}


# Taken from the environment when set (e.g. the demo's PULSE_CONTACT_BUDGET_DAYS=0).
PASSED_ON = (
    "PULSE_SURVEY_INTERACTION_WORKERS",
    "PULSE_DB_POOL_MAX",
    "PULSE_CONTACT_BUDGET_DAYS",
    "PULSE_CUSTOMER_SAMPLE_RATE",
)


@dataclass(frozen=True)
class Config:
    interactions: int  # K per phase


FULL = Config(interactions=5000)
QUICK = Config(interactions=1000)


def org() -> list[tuple[str, str]]:
    """(unit, parent) in creation order: root > divisions > departments > teams."""
    units = [("root", "")]
    units += [(f"D{d}", "root") for d in range(DIVISIONS)]
    units += [(f"P{p:02d}", f"D{p % DIVISIONS}") for p in range(DEPARTMENTS)]
    units += [(f"T{t:03d}", f"P{t % DEPARTMENTS:02d}") for t in range(TEAMS)]
    return units


def team_ids() -> list[str]:
    return [f"T{t:03d}" for t in range(TEAMS)]


def interactions(
    count: int, first: int, rng: random.Random
) -> list[events_pb2.InteractionCompleted]:
    """``count`` interactions numbered from ``first``, spread over the last 10 days (within
    the token TTL: none is stale) and the teams; a customer comes back about one time in
    five (contact budget suppressions). Customer keys are CRM ids (not emails), so the
    roster is consulted as in the demo."""
    customers = max(1, int(count * 0.8))
    now = datetime.now(UTC)
    units = team_ids()
    out = []
    for number in range(first, first + count):
        customer = first + rng.randrange(customers)
        out.append(
            events_pb2.InteractionCompleted(
                interaction_id=f"bench-{number:07d}",
                unit_id=rng.choice(units),
                occurred_at=(now - timedelta(minutes=rng.randrange(10 * 24 * 60))).isoformat(),
                channel=rng.choice(CHANNELS),
                customer_key=f"K{customer:07d}",
                customer_contact=f"c{customer:07d}@example.test",
            )
        )
    return out


# ---------------------------------------------------------------- infrastructure


# ---------------------------------------------------------------- measurement


@dataclass
class Phase:
    count: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds


async def make_org_and_survey(stub: pb_grpc.SurveyServiceAsyncStub) -> None:
    """The org of ``org()`` from 60 days ago, every tenth team moved to another department
    five days ago (dated versions: an interaction is attributed as the org stood that
    day), and one published customer survey."""
    since = date.today() - timedelta(days=60)
    front = pb.UNIT_TYPE_FRONT_LINE
    for unit_id, parent in org():
        await stub.CreateUnit(
            pb.CreateUnitRequest(
                unit_id=unit_id,
                name=unit_id,
                parent_id=parent,
                unit_type=front,
                effective_from=since.isoformat(),
            )
        )
    moved = (date.today() - timedelta(days=5)).isoformat()
    for team in team_ids()[::10]:
        await stub.UpdateUnit(
            pb.UpdateUnitRequest(unit_id=team, parent_id="P00", effective_from=moved)
        )
    created = await stub.CreateSurvey(
        pb.CreateSurveyRequest(
            name="Customer",
            kind=types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION,
            item_ids=CUSTOMER_ITEMS,
        )
    )
    await stub.PublishSurvey(pb.PublishSurveyRequest(survey_id=created.survey.survey_id))


async def recorded(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM survey.interactions"))


async def outbox_empty(pool: asyncpg.Pool) -> bool:
    return not await pool.fetchval("SELECT EXISTS (SELECT 1 FROM survey.outbox)")


async def nats_phase(
    js: JetStreamContext, pool: asyncpg.Pool, events: Sequence[events_pb2.InteractionCompleted]
) -> tuple[Phase, float]:
    """The phase, and the seconds from its start until the outbox relay had published every
    invitation it issued."""
    before = await recorded(pool)
    payloads = [event.SerializeToString() for event in events]

    async def all_recorded() -> bool:
        return await recorded(pool) >= before + len(events)

    start = time.perf_counter()
    await publish_all(
        js,
        subjects.INTERACTION_COMPLETED,
        payloads,
        events_pb2.InteractionCompleted.DESCRIPTOR.full_name,
    )
    await wait_until(all_recorded, PHASE_LIMIT_S, f"{len(events)} interactions recorded")
    phase = Phase(len(events), time.perf_counter() - start)
    await wait_until(lambda: outbox_empty(pool), PHASE_LIMIT_S, "outbox relayed")
    return phase, time.perf_counter() - start


async def grpc_phase(
    stub: pb_grpc.SurveyServiceAsyncStub, events: Sequence[events_pb2.InteractionCompleted]
) -> tuple[Phase, Counter[str]]:
    queue = list(reversed(events))
    outcomes: Counter[str] = Counter()

    async def caller() -> None:
        while queue:
            event = queue.pop()
            reply = await stub.RecordInteraction(
                pb.RecordInteractionRequest(
                    interaction=pb.Interaction(
                        interaction_id=event.interaction_id,
                        unit_id=event.unit_id,
                        occurred_at=event.occurred_at,
                        channel=event.channel,
                        customer_key=event.customer_key,
                        customer_contact=event.customer_contact,
                    )
                ),
                timeout=60,
            )
            outcomes[reply.suppression_reason or "invited"] += 1

    start = time.perf_counter()
    await asyncio.wait_for(
        asyncio.gather(*(caller() for _ in range(GRPC_CALLERS))), timeout=PHASE_LIMIT_S
    )
    return Phase(len(events), time.perf_counter() - start), outcomes


async def decisions(pool: asyncpg.Pool) -> Counter[str]:
    rows = await pool.fetch(
        "SELECT suppression_reason, count(*) AS n FROM survey.interactions"
        " WHERE interaction_id LIKE 'bench-%' GROUP BY suppression_reason"
    )
    return Counter({(r["suppression_reason"] or "invited"): int(r["n"]) for r in rows})


def line(status: str, check: str, value: str, target: str) -> None:
    print(f"{status:<5} {check:<52} {value:>24}  {target}")


async def run(config: Config, seed: int) -> None:
    rng = random.Random(seed)
    work_dir = Path(tempfile.mkdtemp(prefix="pulse-bench-"))
    try:
        async with servers(work_dir) as infra:
            env = {
                "PULSE_DATABASE_URL": infra.database_url,
                "PULSE_NATS_URL": infra.nats_url,
                "PULSE_DATA_DIR": infra.data_dir,
                **ENV,
            }
            env.update({name: os.environ[name] for name in PASSED_ON if name in os.environ})
            settings = load_settings(env)
            service = await start_service(DEFINITION, settings, "127.0.0.1:0")
            nc = await nats.connect(infra.nats_url)
            pool = await asyncpg.create_pool(infra.database_url, min_size=1, max_size=2)
            try:
                workers = load_survey_settings(settings.extra, settings).interaction_workers
                print(
                    f"bench_interactions: K = {config.interactions} interactions per phase, "
                    f"{len(org())} units, {workers} interaction workers, contact budget "
                    f"{settings.contact_budget_days} days; {infra.description}; "
                    f"Python {platform.python_version()} on {platform.machine()}, "
                    f"{os.cpu_count()} CPUs"
                )
                await measure(config, rng, service.address, nc.jetstream(), pool)
                print(consumer_summary(service.context.consumers, "survey-interactions"))
            finally:
                await pool.close()
                await nc.close()
                await service.stop(grace_s=0.5)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


async def measure(
    config: Config, rng: random.Random, address: str, js: JetStreamContext, pool: asyncpg.Pool
) -> None:
    k = config.interactions
    over_nats = interactions(k, 0, rng)
    over_grpc = interactions(k, k, rng)
    async with tools_channel(address) as channel:
        stub = pb_grpc.SurveyServiceStub(channel)
        await make_org_and_survey(stub)
        # Warm-up: connections, prepared statements, caches (not timed, not counted).
        warm = interactions(50, 10 * k, rng)
        await nats_phase(js, pool, warm)
        baseline = Phase(
            k,
            await publish_all(
                js, BASELINE_SUBJECT, [e.SerializeToString() for e in over_nats], EVENT_TYPE
            ),
        )
        raw = Phase(
            k,
            await publish_consume_all(
                js, RAW_SUBJECT, [e.SerializeToString() for e in over_nats], EVENT_TYPE
            ),
        )
        via_nats, relayed_s = await nats_phase(js, pool, over_nats)
        nats_mix = await decisions(pool)
        via_grpc, grpc_mix = await grpc_phase(stub, over_grpc)

    print()
    print(f"{'':<5} {'check':<52} {'value':>24}  target")
    line(
        "PASS" if via_nats.rate >= TARGET_PER_S else "INFO",
        "interactions/s via NATS (publish -> all recorded)",
        f"{via_nats.rate:.0f}/s ({via_nats.seconds:.1f} s)",
        f">= {TARGET_PER_S:.0f}/s",
    )
    line(
        "INFO",
        "  vs raw JetStream publish/s (same run)",
        f"{via_nats.rate / baseline.rate:.3f} ({baseline.rate:.0f}/s)",
        "context",
    )
    line(
        "INFO",
        f"  vs RecordInteraction over gRPC, {GRPC_CALLERS} callers",
        f"{via_nats.rate / via_grpc.rate:.2f} ({via_grpc.rate:.0f}/s)",
        "context",
    )
    line(
        "INFO",
        "  invitation events relayed (outbox empty) after",
        f"{relayed_s:.1f} s",
        f"vs {via_nats.seconds:.1f} s to record",
    )
    line(
        "PASS" if via_grpc.rate >= TARGET_PER_S else "INFO",
        f"interactions/s via gRPC ({GRPC_CALLERS} callers)",
        f"{via_grpc.rate:.0f}/s ({via_grpc.seconds:.1f} s)",
        f">= {TARGET_PER_S:.0f}/s",
    )
    line(
        "INFO",
        "  vs raw JetStream publish+consume+ack/s (same run)",
        f"{via_nats.rate / raw.rate:.3f} ({raw.rate:.0f}/s)",
        ">= 0.25",
    )
    mix = ", ".join(f"{reason} {n}" for reason, n in sorted(nats_mix.items()))
    print(f"\ndecisions (NATS phase and warm-up): {mix}")
    ratio(
        "interactions_vs_jetstream",
        via_nats.rate / raw.rate,
        f"{via_nats.rate:.0f} interactions/s vs {raw.rate:.0f} raw publish+consume+ack/s; "
        "target >= 0.25",
    )
    mix = ", ".join(f"{reason} {n}" for reason, n in sorted(grpc_mix.items()))
    print(f"decisions (gRPC phase): {mix}")


def main(argv: Sequence[str] | None = None) -> int:
    return bench_main(__doc__, run, FULL, QUICK, "K = 1000 (under a minute)", argv)


if __name__ == "__main__":
    sys.exit(main())
