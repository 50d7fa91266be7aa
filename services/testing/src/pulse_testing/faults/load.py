"""Load for the fault suite: an org, a roster and an open employee wave through the real
services; respondents who submit with bounded concurrency and, when told it failed, do what
the web form does (open the link again with the same idempotency key and send again); and
the reconciliation of what they were told with what was stored and counted.

The one line each property prints:
``fault <name>: submitted=N ok=N counted=N lost=N duplicated=N`` where
- submitted: respondents (tokens) who submitted; ok: those finally told OK;
- counted: responses of those units the correlation service counted;
- lost: answers told OK but not stored, or stored but not counted, plus links found
  "used" when their respondent came back after a failed submit (a burned token);
- duplicated: stored responses beyond one per OK respondent, plus counts beyond one per
  stored response."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import grpc
import grpc.aio
import nats
from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2
from pulse_cli.context import Stubs
from pulse_cli.deadletter_commands import read_dead_letters
from pulse_common import auth, errors
from pulse_common.grpc_errors import domain_error_from_rpc
from pulse_survey.delivery_log import LOG_NAME

from pulse_testing.faults.stack import FaultStack

ITEMS = ("rec.1", "fair.1", "enps.1", "ecomment.1")
LINES: list[str] = []  # every fault line of the session, repeated in pytest's summary


def report(name: str, **figures: object) -> str:
    """Print and keep ``fault <name>: k=v ...``."""
    line = f"fault {name}: " + " ".join(f"{key}={value}" for key, value in figures.items())
    print(line, flush=True)
    LINES.append(line)
    return line


def as_viewer(stubs: Stubs, viewer_id: str, scope: str = "") -> tuple[tuple[str, str], ...]:
    """Metadata of one call by the leader (and analyst) ``viewer_id`` reading ``scope``'s
    subtree ("" = the whole org): a token minted with the suite's credential."""
    assert stubs.credential is not None
    token = stubs.credential.mint(subject=viewer_id, roles=(auth.LEADER, auth.ANALYST), scope=scope)
    return auth.bearer(token)


def worth_retrying(error: grpc.aio.AioRpcError) -> bool:
    """What the web form sends again (with its key): a service down, slow or gone mid-call,
    or a rate limit; read through the one client-side mapper."""
    mapped = domain_error_from_rpc(error)
    return isinstance(mapped, errors.RetryableError | errors.ResourceExhausted)


def answers(n: int) -> list[types_pb2.Answer]:
    """A valid answer set, varied by ``n`` (comments on some)."""
    found = [
        types_pb2.Answer(item_id="rec.1", score=1 + n % 5),
        types_pb2.Answer(item_id="fair.1", score=1 + (n // 5) % 5),
        types_pb2.Answer(item_id="enps.1", score=n % 11),
    ]
    if n % 3 == 0:
        found.append(types_pb2.Answer(item_id="ecomment.1", text=f"Respondent note {n % 7}"))
    return found


@dataclass(frozen=True)
class Wave:
    prefix: str
    root: str
    units: tuple[str, ...]
    survey_id: str
    wave_id: str
    period: str
    tokens: tuple[str, ...]
    team_of: dict[str, str] = field(default_factory=dict)  # token -> team

    def tokens_of(self, team: str) -> list[str]:
        return [token for token in self.tokens if self.team_of.get(token) == team]


async def make_org(
    stubs: Stubs, prefix: str, teams: dict[str, int], parents: dict[str, str] | None = None
) -> tuple[str, ...]:
    """``<prefix>-root`` over the teams (unit id -> people; a team's parent is the root
    unless ``parents`` names another team, listed before it); the roster imported."""
    since = (date.today() - timedelta(days=90)).isoformat()
    root = f"{prefix}-root"
    placed = [(team, (parents or {}).get(team, root)) for team in teams]
    for unit_id, parent in [(root, ""), *placed]:
        await stubs.survey.CreateUnit(
            survey_pb.CreateUnitRequest(
                unit_id=unit_id,
                name=unit_id.title(),
                parent_id=parent,
                unit_type=survey_pb.UNIT_TYPE_FRONT_LINE,
                effective_from=since,
            ),
            timeout=30,
        )

    async def rows() -> AsyncIterator[survey_pb.ImportRosterRequest]:
        yield survey_pb.ImportRosterRequest(options=survey_pb.ImportRosterOptions())
        line = 1
        for team, people in teams.items():
            for index in range(people):
                line += 1
                yield survey_pb.ImportRosterRequest(
                    row=survey_pb.RosterRow(
                        employee_id=f"{team}-E{index}",
                        email=f"{team}.{index}@example.test",
                        unit_id=team,
                        start_date=since,
                        line=line,
                    )
                )

    imported = await stubs.survey.ImportRoster(rows(), timeout=600)
    assert not imported.rejected, imported.rejected[:3]
    return (root, *teams)


async def open_wave(
    stack: FaultStack,
    stubs: Stubs,
    prefix: str,
    teams: dict[str, int],
    parents: dict[str, str] | None = None,
    *,
    opens_on: date | None = None,
    open_days: int = 7,
) -> Wave:
    """The org, an employee survey and one open wave over it, with every raw token (read
    from the delivery log, as a person running Pulse locally clicks them). ``opens_on`` in
    the past (with ``open_days`` reaching past today) labels the wave with an ended period,
    whose numbers the correlation service releases."""
    units = await make_org(stubs, prefix, teams, parents)
    draft = await stubs.survey.CreateSurvey(
        survey_pb.CreateSurveyRequest(
            name=f"Pulse {prefix}",
            kind=types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
            item_ids=ITEMS,
            language="en",
        ),
        timeout=30,
    )
    survey_id = draft.survey.survey_id
    await stubs.survey.PublishSurvey(
        survey_pb.PublishSurveyRequest(survey_id=survey_id), timeout=30
    )
    scheduled = await stubs.survey.ScheduleWave(
        survey_pb.ScheduleWaveRequest(
            survey_id=survey_id,
            audience_unit_id=units[0],
            cadence=survey_pb.CADENCE_ONCE,
            first_opens_on=(opens_on or date.today()).isoformat(),
            count=1,
            open_days=open_days,
        ),
        timeout=30,
    )
    opened = await stubs.survey.OpenWave(
        survey_pb.OpenWaveRequest(wave_id=scheduled.waves[0].wave_id), timeout=600
    )
    total = sum(teams.values())
    assert opened.invitations_issued == total, opened
    contacts = await delivered(stack, survey_id, total)
    return Wave(
        prefix,
        units[0],
        units,
        survey_id,
        opened.wave.wave_id,
        opened.wave.period,
        tuple(contacts.values()),
        # Roster e-mails are <team>.<n>@example.test.
        {token: contact.split("@")[0].rsplit(".", 1)[0] for contact, token in contacts.items()},
    )


async def delivered_tokens(
    stack: FaultStack, survey_id: str, count: int, timeout_s: float | None = None
) -> tuple[str, ...]:
    """Tokens of the first ``count`` invitations to ``survey_id`` in the delivery log."""
    return tuple((await delivered(stack, survey_id, count, timeout_s)).values())


async def delivered(
    stack: FaultStack, survey_id: str, count: int, timeout_s: float | None = None
) -> dict[str, str]:
    """Contact -> token of the first ``count`` invitations to ``survey_id`` in the log.
    By default waits 0.1 s per invitation (at least 300 s): a loaded 2-core machine
    delivered 10,000 at about 20/s."""
    log = Path(stack.state.data_dir) / LOG_NAME
    deadline = time.monotonic() + (timeout_s if timeout_s is not None else max(300.0, 0.1 * count))
    while True:
        found: dict[str, str] = {}
        lines = log.read_text().splitlines() if log.exists() else []
        for line in lines:
            parts = line.split("\t")
            if len(parts) >= 5 and parts[3] == survey_id and parts[4] == "invitation":
                found.setdefault(parts[1], parts[2].rsplit("/s/", 1)[1])
        if len(found) >= count:
            return dict(list(found.items())[:count])
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(found)} of {count} invitations delivered")
        await asyncio.sleep(0.3)


@dataclass
class Tally:
    """What the respondents were told."""

    submitted: int = 0
    ok: dict[str, str] = field(default_factory=dict)  # token -> response id
    replayed: int = 0
    told_failed: int = 0  # attempts answered with a retryable code
    codes: Counter[str] = field(default_factory=Counter)  # every non-OK code seen
    failed: dict[str, str] = field(default_factory=dict)  # token -> last code (gave up)
    # A respondent came back after a failed submit and found the link used (token burned).
    burned: int = 0
    form_again: int = 0  # ... and got the form again (the fix)
    already_stored: int = 0  # ... and was told the answers had arrived after all

    @property
    def ok_ids(self) -> set[str]:
        return set(self.ok.values())


class Respondents:
    """Submit like the web form: a fixed idempotency key per respondent; after a failure,
    open the link again (GetForm with the key) and send again, until OK or ``give_up_s``."""

    def __init__(
        self,
        stubs: Stubs,
        *,
        concurrency: int = 32,
        deadline_s: float = 10.0,
        give_up_s: float = 120.0,
    ) -> None:
        self.stubs = stubs
        self.slots = asyncio.Semaphore(concurrency)
        self.deadline_s = deadline_s
        self.give_up_s = give_up_s
        self.tally = Tally()

    async def submit_all(
        self, tokens: Sequence[str], start: int = 0, per_s: float | None = None
    ) -> Tally:
        """Everyone submits; with ``per_s``, respondents arrive at that rate (so that a fault
        injected meanwhile meets submissions before, during and after it)."""
        began = asyncio.get_running_loop().time()

        async def arrive(n: int, token: str) -> None:
            if per_s:
                await asyncio.sleep(max(0.0, began + n / per_s - asyncio.get_running_loop().time()))
            await self.submit(token, start + n)

        await asyncio.gather(*(arrive(n, token) for n, token in enumerate(tokens)))
        return self.tally

    async def submit(self, token: str, n: int, key: str | None = None) -> str | None:
        key = key or uuid.uuid4().hex
        request = resp_pb.SubmitRequest(
            token=token, answers=answers(n), idempotency_key=key, client_id=f"c{n % 97}"
        )
        async with self.slots:
            self.tally.submitted += 1
            loop = asyncio.get_running_loop()
            give_up = loop.time() + self.give_up_s
            delay = 0.05
            while True:
                try:
                    reply = await self.stubs.response.Submit(request, timeout=self.deadline_s)
                except grpc.aio.AioRpcError as error:
                    code = error.code()
                    self.tally.codes[code.name] += 1
                    if not worth_retrying(error) or loop.time() > give_up:
                        self.tally.failed[token] = code.name
                        return None
                    self.tally.told_failed += 1
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 1.0)
                    await self.come_back(token, key)
                    continue
                self.tally.ok[token] = reply.response_id
                self.tally.replayed += int(reply.replayed)
                return str(reply.response_id)

    async def come_back(self, token: str, key: str) -> None:
        """The respondent opens the link again (the web passes the form's key along)."""
        try:
            await self.stubs.response.GetForm(
                resp_pb.GetFormRequest(token=token, idempotency_key=key), timeout=self.deadline_s
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                self.tally.burned += 1
            elif error.code() == grpc.StatusCode.ALREADY_EXISTS:
                self.tally.already_stored += 1
            return
        self.tally.form_again += 1


@dataclass(frozen=True)
class Reconciled:
    persisted: int
    counted: int
    lost: int
    duplicated: int

    def figures(self, tally: Tally) -> dict[str, object]:
        return {
            "submitted": tally.submitted,
            "ok": len(tally.ok),
            "counted": self.counted,
            "lost": self.lost,
            "duplicated": self.duplicated,
        }


async def reconcile(
    stack: FaultStack, wave: Wave, tally: Tally, *, wait_s: float = 120.0
) -> Reconciled:
    """Compare what respondents were told with what the response service stored and the
    correlation service counted, waiting (up to ``wait_s``) for the counts to settle."""
    units = list(wave.units)
    response_db = await stack.db("response")
    correlation_db = await stack.db("correlation")
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while True:
            stored = {
                str(row["response_id"])
                for row in await response_db.fetch(
                    "SELECT response_id FROM responses WHERE unit_id = ANY($1)", units
                )
            }
            claimed = {
                str(row["msg_id"]).removeprefix("response:")
                for row in await correlation_db.fetch(
                    "SELECT msg_id FROM processed_messages WHERE msg_id = ANY($1)",
                    [f"response:{rid}" for rid in stored],
                )
            }
            counted = int(
                await correlation_db.fetchval(
                    "SELECT coalesce(sum(n), 0) FROM agg_population"
                    " WHERE unit_id = ANY($1) AND population = 'employee'",
                    units,
                )
            )
            settled = counted >= len(stored) and claimed == stored
            if settled or loop.time() > deadline:
                break
            await asyncio.sleep(0.3)
    finally:
        await response_db.close()
        await correlation_db.close()
    ok_ids = tally.ok_ids
    lost = len(ok_ids - stored) + len(stored - claimed) + tally.burned
    duplicated = max(0, len(stored) - len(tally.ok)) + max(0, counted - len(claimed))
    return Reconciled(len(stored), counted, lost, duplicated)


async def dead_letter_count(nats_url: str) -> int:
    """Messages on the dead-letter subjects of the stream (every consumer)."""
    nc = await nats.connect(nats_url)
    try:
        return len(await read_dead_letters(nc.jetstream()))
    finally:
        await nc.close()
