#!/usr/bin/env python3
"""Benchmark: historical import rows/s against PostgreSQL's own bulk load of the same rows
(not a test).

The survey and response services run in-process on an embedded PostgreSQL and NATS (see
harness.py); an employee survey is published (the survey kit's items: six scored, one
free text). In the same run:

1. import    ``ImportResponses`` of N rows (50 units x 24 past months; six scores each, a
             comment on every tenth row) over gRPC, 500 rows per message (``ImportRows``;
             one message per row costs more than the writes; the messages are built
             before the clock starts): every row validated against the survey version and
             its unit against the organisation of its period (the bench creates the 50
             units from 2023), then written chunk by chunk, two chunks at once
             (``PULSE_RESPONSE_IMPORT_BATCH_SIZE``), with its outbox event.
             Rows/s = N / (first row sent -> reply).
2. baseline  asyncpg ``copy_records_to_table`` of the same N response rows and their scores
             into scratch copies of ``responses`` and ``response_scores`` with the same
             columns, indexes and keys (``LIKE ... INCLUDING ALL`` plus the scores' foreign
             key to the responses, which ``LIKE`` does not copy: its per-row check is part
             of storing these rows in this schema, ~3x the COPY into ``response_scores``
             without it). The floor writes no outbox rows and no comments; the import does.

Prints ``ratio import_vs_copy <import rows/s / COPY rows/s>`` (target >= 0.25, issue 20),
the two rates, and checks that every row was stored with its scores and event.

Usage: bench_import.py [--quick] [--seed S]   (--quick: N = 3,000, under a minute)
"""

from __future__ import annotations

import asyncio
import platform
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import bench_main, ratio, servers
from pulse.response.v1 import response_service_pb2 as pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2
from pulse_testing import survey as survey_kit
from pulse_testing.response import Harness, outbox_drained, running_harness

TARGET = 0.25
CHUNK = 500  # rows per gRPC message (``ImportRows``)
SCORED = ["rec.1", "rec.2", "fair.1", "voice.2", "grow.2"]
SINCE = "2023-01-01"  # the organisation exists from the first imported month
PERIODS = [f"{year}-{month:02d}" for year in (2023, 2024) for month in range(1, 13)]


@dataclass(frozen=True)
class Config:
    rows: int


FULL = Config(rows=20_000)
QUICK = Config(rows=3_000)


def import_rows(n: int, rng: random.Random) -> list[pb.ImportRow]:
    out = []
    for line in range(2, n + 2):
        answers = [types_pb2.Answer(item_id=i, score=rng.randint(1, 5)) for i in SCORED]
        answers.append(types_pb2.Answer(item_id="enps.1", score=rng.randint(0, 10)))
        if line % 10 == 0:
            answers.append(types_pb2.Answer(item_id="ecomment.1", text="More focus time"))
        out.append(
            pb.ImportRow(
                line=line,
                unit_id=f"u{line % 50:02d}",
                period=PERIODS[line % len(PERIODS)],
                kind=types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
                answers=answers,
            )
        )
    return out


async def run(config: Config, seed: int) -> None:
    rng = random.Random(seed)
    rows = import_rows(config.rows, rng)
    work_dir = Path(tempfile.mkdtemp(prefix="pulse-bench-"))
    try:
        async with (
            servers(work_dir) as infra,
            running_harness(infra.database_url, infra.nats_url, PULSE_DATA_DIR=infra.data_dir) as h,
        ):
            print(
                f"bench_import: N = {len(rows)} rows (6 scores each, a comment on every "
                f"tenth); {infra.description}; Python {platform.python_version()} on "
                f"{platform.machine()}"
            )
            await measure(h, rows)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


async def measure(h: Harness, rows: list[pb.ImportRow]) -> None:
    definition = await survey_kit.published_survey(h.survey)
    # The response service checks every row's unit against the organisation of its period.
    await h.survey.CreateUnit(
        survey_pb.CreateUnitRequest(
            unit_id="root",
            name="Root",
            unit_type=survey_pb.UNIT_TYPE_FRONT_LINE,
            effective_from=SINCE,
        )
    )
    for unit_id in sorted({row.unit_id for row in rows}):
        await h.survey.CreateUnit(
            survey_pb.CreateUnitRequest(
                unit_id=unit_id,
                name=unit_id.upper(),
                parent_id="root",
                unit_type=survey_pb.UNIT_TYPE_FRONT_LINE,
                effective_from=SINCE,
            )
        )
    header = pb.ImportHeader(
        survey_id=definition.survey_id,
        survey_version=definition.version,
        source_name="bench.csv",
    )

    # The messages are built before the clock starts: the client's own work is not timed.
    requests = [pb.ImportResponsesRequest(header=header)]
    requests += [
        pb.ImportResponsesRequest(rows=pb.ImportRows(rows=rows[first : first + CHUNK]))
        for first in range(0, len(rows), CHUNK)
    ]

    async def stream() -> AsyncIterator[pb.ImportResponsesRequest]:
        for request in requests:
            yield request

    # The response service learns the version from the stream: wait until it can import.
    for _ in range(200):
        try:
            dry = pb.ImportHeader()
            dry.CopyFrom(header)
            dry.dry_run = True
            await h.response.ImportResponses(_one(dry, rows[0]))
            break
        except Exception:
            await asyncio.sleep(0.05)
    start = time.perf_counter()
    reply = await h.response.ImportResponses(stream(), timeout=600)
    import_s = time.perf_counter() - start
    assert reply.accepted == len(rows), (reply.accepted, reply.rejected[:3])
    assert not reply.rejected
    stored = await h.pool.fetchval("SELECT count(*) FROM responses")
    scores = await h.pool.fetchval("SELECT count(*) FROM response_scores")
    assert stored == len(rows), stored
    assert scores == 6 * len(rows), scores
    await outbox_drained(h.pool, timeout_s=120)

    copy_s = await copy_baseline(h, rows)
    import_rate, copy_rate = len(rows) / import_s, len(rows) / copy_s
    print(f"import: {import_rate:.0f} rows/s ({import_s:.2f} s), all stored with scores")
    print(f"COPY of the same rows and scores: {copy_rate:.0f} rows/s ({copy_s:.2f} s)")
    ratio(
        "import_vs_copy",
        import_rate / copy_rate,
        f"{import_rate:.0f} vs {copy_rate:.0f} rows/s; target >= {TARGET}",
    )


async def copy_baseline(h: Harness, rows: list[pb.ImportRow]) -> float:
    async with h.pool.acquire() as conn:
        await conn.execute("CREATE TABLE bench_responses (LIKE responses INCLUDING ALL)")
        await conn.execute("CREATE TABLE bench_scores (LIKE response_scores INCLUDING ALL)")
        await conn.execute(
            "ALTER TABLE bench_scores ADD FOREIGN KEY (response_id)"
            " REFERENCES bench_responses (response_id) ON DELETE CASCADE"
        )
        ids = [uuid.uuid4() for _ in rows]
        start = time.perf_counter()
        async with conn.transaction():
            await conn.copy_records_to_table(
                "bench_responses",
                records=[
                    (i, "s", 1, 1, r.unit_id, r.period, "", "", "import", "b")
                    for i, r in zip(ids, rows, strict=True)
                ],
                columns=(
                    "response_id",
                    "survey_id",
                    "survey_version",
                    "kind",
                    "unit_id",
                    "period",
                    "wave_id",
                    "channel",
                    "source",
                    "batch_id",
                ),
            )
            await conn.copy_records_to_table(
                "bench_scores",
                records=[
                    (i, a.item_id, a.score)
                    for i, r in zip(ids, rows, strict=True)
                    for a in r.answers
                    if a.WhichOneof("value") == "score"
                ],
                columns=("response_id", "item_id", "score"),
            )
        return time.perf_counter() - start


async def _one(
    header: pb.ImportHeader, row: pb.ImportRow
) -> AsyncIterator[pb.ImportResponsesRequest]:
    yield pb.ImportResponsesRequest(header=header)
    yield pb.ImportResponsesRequest(row=row)


def main(argv: Sequence[str] | None = None) -> int:
    return bench_main(__doc__, run, FULL, QUICK, "N = 3,000 (under a minute)", argv)


if __name__ == "__main__":
    sys.exit(main())
