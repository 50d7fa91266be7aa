"""Kit of the anonymity adversaries (issue 13, ``make test-anonymity``): a run of employees
answering one wave in teams of 5-12 (90 % of those invited answer), some one by one and
some concurrently, with the ground truth (which token got which response) kept by the test
only; a full dump of every table of every database the services use, system columns
(``xmin``, ``ctid``) included; and the linkages an adversary builds from it, with the bound
chance allows.

The bound: when answers are written in shuffled batches, an adversary who knows which batch
an answer belongs to (its transaction id) and which redemptions preceded that batch can do
no better than a random pairing inside it, whose expected number of right pairs is 1 per
batch whatever its size (the expected number of fixed points of a random permutation). So
chance is ``B`` (the number of batches) with variance at most ``B`` (Poisson approximation
of the sum of fixed-point counts); ``chance_bound`` adds a one-sided 99.9 % normal margin,
``B + 3.09 * sqrt(B) + 1`` (the database reader takes the better of two linkages, which
raises its expected score by about half a standard deviation, well inside the margin)."""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import random
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import asyncpg
from pulse.events.v1 import events_pb2
from pulse.response.v1 import response_service_pb2 as response_pb
from pulse.survey.v1 import survey_service_pb2 as pb
from pulse.types.v1 import types_pb2
from pulse_common.subjects import INVITATION_ISSUED

from pulse_testing.response import Harness, employee_answers
from pulse_testing.stack import stream_messages
from pulse_testing.survey import EMPLOYEE_ITEMS

K = 5  # the survey's anonymity threshold in these runs (the default PULSE_MIN_GROUP_SIZE)
PHONE = "+49 170 1234567"  # in every comment: stored redacted, never raw


ANSWERING = 0.9  # the share of those invited who answer


def respondents() -> int:
    """60 by default; 200 (the issue's size) with ``PULSE_FAULT_SCALE`` set."""
    return 200 if os.environ.get("PULSE_FAULT_SCALE") else 60


def invitees() -> int:
    """How many to invite so that about ``respondents()`` answer."""
    return math.ceil(respondents() / ANSWERING)


def team_sizes(total: int, seed: int = 13) -> dict[str, int]:
    """Teams of 5-12 people adding up to at least ``total``."""
    rng = random.Random(seed)
    teams: dict[str, int] = {}
    while sum(teams.values()) < total:
        teams[f"t{len(teams):02d}"] = rng.randint(5, 12)
    return teams


def chance_bound(batches: int) -> float:
    return batches + 3.09 * math.sqrt(batches) + 1


LINES: list[str] = []  # every linkage line of the session, repeated in pytest's summary


def linkage_line(name: str, matched: int, of: int, chance: float) -> str:
    """The adversary's result, as ``make test-anonymity`` prints it in pytest's summary
    (the root conftest's ``pytest_terminal_summary``)."""
    line = f"linkage {name}: matched={matched} of {of} chance={chance:.1f}"
    LINES.append(line)
    return line


@dataclass
class Run:
    wave_id: str
    survey_id: str
    teams: dict[str, int]
    token_team: dict[str, str]  # token -> team
    response_of: dict[str, str] = field(default_factory=dict)  # token -> response id
    submitted: list[str] = field(default_factory=list)  # tokens in submit order


async def build_org(h: Harness, teams: Mapping[str, int]) -> None:
    since = (date.today() - timedelta(days=60)).isoformat()
    front = pb.UNIT_TYPE_FRONT_LINE
    for unit_id, parent in [("root", ""), *((team, "root") for team in teams)]:
        await h.survey.CreateUnit(
            pb.CreateUnitRequest(
                unit_id=unit_id,
                name=unit_id.title(),
                parent_id=parent,
                unit_type=front,
                effective_from=since,
            )
        )

    async def rows() -> AsyncIterator[pb.ImportRosterRequest]:
        yield pb.ImportRosterRequest(options=pb.ImportRosterOptions())
        line = 1
        for team, people in teams.items():
            for index in range(people):
                line += 1
                yield pb.ImportRosterRequest(
                    row=pb.RosterRow(
                        employee_id=f"E-{team}-{index}",
                        email=f"{team}.{index}@example.com",
                        unit_id=team,
                        start_date=since,
                        line=line,
                    )
                )

    reply = await h.survey.ImportRoster(rows())
    assert not reply.rejected, reply.rejected[:3]


async def open_wave(h: Harness, teams: Mapping[str, int], rotation: int = 0) -> Run:
    """An employee survey over the org and one open wave; the tokens as the delivery
    adapter reads them (from the delivery stream), with each one's team."""
    created = await h.survey.CreateSurvey(
        pb.CreateSurveyRequest(
            name="Pulse",
            kind=types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
            item_ids=EMPLOYEE_ITEMS,
            min_group_size=K,
        )
    )
    survey_id = created.survey.survey_id
    await h.survey.PublishSurvey(pb.PublishSurveyRequest(survey_id=survey_id))
    scheduled = await h.survey.ScheduleWave(
        pb.ScheduleWaveRequest(
            survey_id=survey_id,
            audience_unit_id="root",
            cadence=pb.CADENCE_ONCE,
            first_opens_on=date.today().isoformat(),
            count=1,
            open_days=7,
            rotation_items_per_person=rotation,
        )
    )
    opened = await h.survey.OpenWave(pb.OpenWaveRequest(wave_id=scheduled.waves[0].wave_id))
    total = sum(teams.values())
    token_team: dict[str, str] = {}
    for _, data in await stream_messages(h.nats_url, INVITATION_ISSUED, total, timeout_s=60):
        event = events_pb2.InvitationIssued.FromString(data)
        if not event.reminder:
            token_team[event.token] = event.contact.split("@")[0].rsplit(".", 1)[0]
    assert len(token_team) == total
    return Run(opened.wave.wave_id, survey_id, dict(teams), token_team)


async def answer(h: Harness, run: Run, token: str, rng: random.Random) -> None:
    comment = f"Comment {rng.randint(0, 10**6)} from my team; call me on {PHONE}"
    reply = await h.response.Submit(
        response_pb.SubmitRequest(
            token=token,
            answers=employee_answers(enps=rng.randint(0, 10), comment=comment),
            idempotency_key=uuid.uuid4().hex,
            client_id="anon",
        )
    )
    run.response_of[token] = reply.response_id
    run.submitted.append(token)


async def answer_all(h: Harness, run: Run, share: float = ANSWERING, seed: int = 7) -> None:
    """``share`` of each team answers: the first half of those one by one, the rest
    16 at a time; then the wave closes (its remaining held answers are written)."""
    rng = random.Random(seed)
    tokens = list(run.token_team)
    rng.shuffle(tokens)
    chosen = tokens[: int(len(tokens) * share)]
    half = len(chosen) // 2
    for token in chosen[:half]:
        await answer(h, run, token, rng)
    rest = chosen[half:]
    for start in range(0, len(rest), 16):
        await asyncio.gather(*(answer(h, run, t, rng) for t in rest[start : start + 16]))
    await h.survey.CloseWave(pb.CloseWaveRequest(wave_id=run.wave_id))
    deadline = time.monotonic() + 60
    while await h.pool.fetchval("SELECT count(*) FROM held_responses"):
        assert time.monotonic() < deadline, "held answers were not written after the close"
        await asyncio.sleep(0.2)


# ---------------------------------------------------------------- the database dump


@dataclass(frozen=True)
class Row:
    table: str  # schema.table
    xid: int
    ctid: tuple[int, int]
    values: dict[str, object]
    text: str


async def dump(database_urls: Iterable[str]) -> list[Row]:
    """Every row of every table of every non-system schema of each database, with its
    ``xmin`` and ``ctid``."""
    rows: list[Row] = []
    for url in database_urls:
        conn = await asyncpg.connect(url)
        try:
            tables = await conn.fetch(
                "SELECT table_schema, table_name FROM information_schema.tables"
                " WHERE table_type = 'BASE TABLE'"
                " AND table_schema NOT IN ('pg_catalog', 'information_schema')"
            )
            for t in tables:
                name = f'"{t["table_schema"]}"."{t["table_name"]}"'
                for r in await conn.fetch(
                    f"SELECT xmin::text::bigint AS _xid, ctid::text AS _ctid, x::text AS _text,"
                    f" x.* FROM {name} x"
                ):
                    page, item = r["_ctid"].strip("()").split(",")
                    values = {k: v for k, v in dict(r).items() if not k.startswith("_")}
                    rows.append(
                        Row(
                            f"{t['table_schema']}.{t['table_name']}",
                            int(r["_xid"]),
                            (int(page), int(item)),
                            values,
                            r["_text"],
                        )
                    )
        finally:
            await conn.close()
    return rows


def of_table(rows: Sequence[Row], table: str) -> list[Row]:
    return [r for r in rows if r.table.endswith(f".{table}")]


# ---------------------------------------------------------------- linkages


def truth_by_invitation(rows: Sequence[Row], run: Run) -> dict[str, str]:
    """invitation id -> the response its holder got (the test's ground truth)."""
    by_hash = {hashlib.sha256(t.encode()).hexdigest(): rid for t, rid in run.response_of.items()}
    return {
        str(r.values["invitation_id"]): by_hash[str(r.values["token_hash"])]
        for r in of_table(rows, "invitation_tokens")
        if str(r.values["token_hash"]) in by_hash
    }


def rank_pairs(
    people: Mapping[str, list[tuple[object, str]]], answers: Mapping[str, list[tuple[object, str]]]
) -> list[tuple[str, str]]:
    """Within each unit, the i-th person (in their order) with the i-th answer."""
    pairs = []
    for unit, ordered in people.items():
        for (_, person), (_, answer_id) in zip(
            sorted(ordered), sorted(answers.get(unit, [])), strict=False
        ):
            pairs.append((person, answer_id))
    return pairs


def follow_pairs(
    redeemed: Sequence[tuple[int, str, str]], answered: Sequence[tuple[int, str, str]]
) -> list[tuple[str, str]]:
    """Each answer with the last redemption of its unit whose transaction id precedes it
    (the issue's attack)."""
    pairs = []
    for xid, unit, answer_id in answered:
        before = [(x, inv) for x, u, inv in redeemed if u == unit and x < xid]
        if before:
            pairs.append((max(before)[1], answer_id))
    return pairs


def database_reader(rows: Sequence[Row], run: Run) -> tuple[int, int, int]:
    """(matched, respondents, batches): the better of two linkages from the dump alone:
    redemption order (``xmin``) against answer order (``xmin``, ``ctid``) per unit, and
    each answer against the redemption right before it."""
    truth = truth_by_invitation(rows, run)
    invitations = [r for r in of_table(rows, "invitations") if r.values.get("redeemed")]
    responses = [r for r in of_table(rows, "responses") if r.values.get("wave_id") == run.wave_id]
    people: dict[str, list[tuple[object, str]]] = defaultdict(list)
    for r in invitations:
        people[str(r.values["unit_id"])].append(((r.xid, r.ctid), str(r.values["invitation_id"])))
    answers: dict[str, list[tuple[object, str]]] = defaultdict(list)
    for r in responses:
        answers[str(r.values["unit_id"])].append(((r.xid, r.ctid), str(r.values["response_id"])))
    by_rank = rank_pairs(people, answers)
    by_follow = follow_pairs(
        [(r.xid, str(r.values["unit_id"]), str(r.values["invitation_id"])) for r in invitations],
        [(r.xid, str(r.values["unit_id"]), str(r.values["response_id"])) for r in responses],
    )
    matched = max(
        sum(truth.get(person) == answer_id for person, answer_id in pairs)
        for pairs in (by_rank, by_follow)
    )
    batches = len({(str(r.values["unit_id"]), r.xid) for r in responses})
    return matched, len(responses), batches


# ---------------------------------------------------------------- rotation


def asked_answers(items: Sequence[types_pb2.Item], rng: random.Random) -> list[types_pb2.Answer]:
    from pulse_common.measures import scale_range

    result = []
    for item in items:
        if item.scale == types_pb2.SCALE_FREE_TEXT:
            continue
        low, high = scale_range(item.scale)
        result.append(types_pb2.Answer(item_id=item.item_id, score=rng.randint(low, high)))
    return result


def rotation_reader(rows: Sequence[Row], run: Run, optional: Sequence[str]) -> tuple[int, int]:
    """(matched, respondents): each answered set of optional items against whatever item
    set the database still says a person was asked (any invitation-linked row naming
    optional items); among equal candidates the reader picks the first."""
    truth = truth_by_invitation(rows, run)
    linked = [r for r in rows if "invitation_id" in r.values]
    recovered: dict[str, frozenset[str]] = defaultdict(frozenset)
    for r in linked:
        named = frozenset(item for item in optional if item in r.text)
        recovered[str(r.values["invitation_id"])] |= named
    unit_of = {
        str(r.values["invitation_id"]): str(r.values["unit_id"])
        for r in of_table(rows, "invitations")
    }
    scores: dict[str, set[str]] = defaultdict(set)
    for r in of_table(rows, "response_scores"):
        if str(r.values["item_id"]) in optional:
            scores[str(r.values["response_id"])].add(str(r.values["item_id"]))
    responses = [r for r in of_table(rows, "responses") if r.values.get("wave_id") == run.wave_id]
    matched = 0
    for r in responses:
        rid, unit = str(r.values["response_id"]), str(r.values["unit_id"])
        answered = frozenset(scores[rid])
        candidates = sorted(i for i, u in unit_of.items() if u == unit)
        exact = [i for i in candidates if recovered[i] == answered]
        guess = (exact or candidates)[0]
        matched += truth.get(guess) == rid
    return matched, len(responses)
