"""Test harness of the web front (imported by its tests; pytest's importlib mode keeps test
files from importing each other): a real survey + response (+ correlation) stack, the web
app wired to it, seeded data, and a real uvicorn server for browser tests. No mocks."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import nats
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse.correlation.v1 import correlation_service_pb2_grpc as corr_grpc
from pulse.events.v1 import events_pb2
from pulse.response.v1 import response_service_pb2_grpc as resp_grpc
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.survey.v1 import survey_service_pb2_grpc as survey_grpc
from pulse.types.v1 import types_pb2
from pulse_common.periods import periods_back, periods_between
from pulse_common.runtime import ServiceDefinition
from pulse_common.subjects import INVITATION_ISSUED, RESPONSE_RECORDED
from pulse_correlation.app import DEFINITION as CORRELATION
from pulse_response.app import DEFINITION as RESPONSE
from pulse_survey.app import DEFINITION as SURVEY
from pulse_web.accounts import hash_password
from pulse_web.app import create_app
from pulse_web.clients import open_clients
from pulse_web.config import load_web_config
from starlette.applications import Starlette

from pulse_testing.stack import (
    InProcessStack,
    inprocess_stack,
    settings_for_tests,
    stream_messages,
    tools_channel,
)

REPO_ROOT = Path(__file__).resolve().parents[4]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
PASSWORD = "correct horse battery staple"
EMPLOYEE_ITEMS = ["rec.1", "fair.1", "sup.1", "voice.2", "enps.1", "ecomment.1"]
CUSTOMER_ITEMS = ["csat.1", "staff.1", "nps.1", "ccomment.1"]
# root > north > {n1..n4}, south > {s1..s4}
TEAMS = {"north": ["n1", "n2", "n3", "n4"], "south": ["s1", "s2", "s3", "s4"]}


def accounts_value() -> str:
    """A whole-organisation leader and one scoped to the north division."""
    encoded = hash_password(PASSWORD, iterations=10_000)
    return f"leader:{encoded}:;north_lead:{encoded}:north"


def stack_definitions(with_correlation: bool = True) -> list[ServiceDefinition]:
    """Survey and response, then correlation unless left out on purpose (a broken import is
    an error, never a skip)."""
    definitions = [SURVEY, RESPONSE]
    if with_correlation:
        definitions.append(CORRELATION)
    return definitions


@dataclass
class WebStack:
    stack: InProcessStack
    app: Starlette
    survey: survey_grpc.SurveyServiceAsyncStub
    response: resp_grpc.ResponseServiceAsyncStub
    correlation: corr_grpc.CorrelationServiceAsyncStub | None
    nats_url: str
    employee_survey: types_pb2.SurveyDefinition
    customer_survey: types_pb2.SurveyDefinition
    tokens: list[str] = field(default_factory=list)
    period: str = ""


@contextlib.asynccontextmanager
async def web_stack(
    database_url: str,
    nats_url: str,
    *,
    people_per_team: int = 1,
    with_correlation: bool = True,
    **env: str,
) -> AsyncIterator[WebStack]:
    """Services + seeded org, surveys and one open employee wave; the web app with its
    gRPC clients open (httpx's ASGI transport does not run the lifespan)."""
    overrides = {
        "PULSE_WAVE_SCHEDULER_INTERVAL_S": "0",
        "PULSE_RESPONSE_SUBMITS_PER_MINUTE": "1000",
        "PULSE_WEB_ACCOUNTS": accounts_value(),
        "PULSE_WEB_SUBMIT_RATE_LIMIT": "30",
        **env,
    }
    settings = settings_for_tests(database_url, nats_url, **overrides)
    definitions = stack_definitions(with_correlation)
    async with inprocess_stack(settings, definitions) as stack:
        channels = [tools_channel(stack.address(d.name)) for d in definitions]
        app = create_app(load_web_config(overrides, settings=stack.settings))
        app.state.web.clients = open_clients(stack.settings)
        try:
            survey = survey_grpc.SurveyServiceStub(channels[0])
            web = WebStack(
                stack=stack,
                app=app,
                survey=survey,
                response=resp_grpc.ResponseServiceStub(channels[1]),
                correlation=corr_grpc.CorrelationServiceStub(channels[2])
                if len(channels) > 2
                else None,
                nats_url=nats_url,
                employee_survey=types_pb2.SurveyDefinition(),
                customer_survey=types_pb2.SurveyDefinition(),
            )
            await seed(web, people_per_team)
            yield web
        finally:
            await app.state.web.clients.close()
            for channel in channels:
                await channel.close()


async def seed(web: WebStack, people_per_team: int) -> None:
    since = (date.today() - timedelta(days=400)).isoformat()
    units = [("root", ""), ("north", "root"), ("south", "root")]
    units += [(team, division) for division, teams in TEAMS.items() for team in teams]
    for unit_id, parent in units:
        await web.survey.CreateUnit(
            survey_pb.CreateUnitRequest(
                unit_id=unit_id,
                name=unit_id.title() if len(unit_id) > 2 else f"Team {unit_id.upper()}",
                parent_id=parent,
                unit_type=survey_pb.UNIT_TYPE_FRONT_LINE,
                effective_from=since,
            )
        )

    async def roster() -> AsyncIterator[survey_pb.ImportRosterRequest]:
        yield survey_pb.ImportRosterRequest(options=survey_pb.ImportRosterOptions(as_of=since))
        line = 1
        for teams in TEAMS.values():
            for team in teams:
                for index in range(people_per_team):
                    line += 1
                    yield survey_pb.ImportRosterRequest(
                        row=survey_pb.RosterRow(
                            employee_id=f"E-{team}-{index}",
                            email=f"{team}.{index}@example.com",
                            unit_id=team,
                            line=line,
                        )
                    )

    await web.survey.ImportRoster(roster())
    web.employee_survey = await _publish(
        web, "Team pulse", types_pb2.SURVEY_KIND_EMPLOYEE_PULSE, EMPLOYEE_ITEMS
    )
    web.customer_survey = await _publish(
        web, "After your visit", types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION, CUSTOMER_ITEMS
    )
    scheduled = await web.survey.ScheduleWave(
        survey_pb.ScheduleWaveRequest(
            survey_id=web.employee_survey.survey_id,
            audience_unit_id="root",
            cadence=survey_pb.CADENCE_ONCE,
            first_opens_on=date.today().isoformat(),
            count=1,
            open_days=7,
        )
    )
    opened = await web.survey.OpenWave(
        survey_pb.OpenWaveRequest(wave_id=scheduled.waves[0].wave_id)
    )
    web.period = opened.wave.period
    expected = people_per_team * sum(len(t) for t in TEAMS.values())
    web.tokens = await invitation_tokens(web.nats_url, expected)


async def _publish(
    web: WebStack, name: str, kind: types_pb2.SurveyKind.ValueType, items: Sequence[str]
) -> types_pb2.SurveyDefinition:
    created = await web.survey.CreateSurvey(
        survey_pb.CreateSurveyRequest(name=name, kind=kind, item_ids=items)
    )
    reply = await web.survey.PublishSurvey(
        survey_pb.PublishSurveyRequest(survey_id=created.survey.survey_id)
    )
    definition: types_pb2.SurveyDefinition = reply.definition
    return definition


async def invitation_tokens(
    nats_url: str,
    at_least: int,
    timeout_s: float = 10.0,
    kind: types_pb2.SurveyKind.ValueType = types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
) -> list[str]:
    """Raw tokens of one survey kind from delivery.invitation.issued, as a delivery adapter
    is handed them (the stack's tap: the stream deletes them once delivered)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    tokens: list[str] = []
    while len(tokens) < at_least and loop.time() < deadline:
        found = await stream_messages(nats_url, INVITATION_ISSUED, 0, timeout_s=0.3)
        tokens = []
        for _, data in found:
            event = events_pb2.InvitationIssued.FromString(data)
            if not event.reminder and event.kind == kind:
                tokens.append(event.token)
    assert len(tokens) >= at_least, f"expected {at_least} invitations, got {len(tokens)}"
    return tokens


async def customer_tokens(web: WebStack, count: int, unit_id: str = "n1") -> list[str]:
    """Record ``count`` customer interactions and return the survey link tokens they earned."""
    from datetime import UTC, datetime

    for _ in range(count):
        await web.survey.RecordInteraction(
            survey_pb.RecordInteractionRequest(
                interaction=survey_pb.Interaction(
                    interaction_id=f"i-{uuid.uuid4().hex[:12]}",
                    unit_id=unit_id,
                    occurred_at=datetime.now(UTC).isoformat(timespec="seconds"),
                    channel="store",
                    customer_key=f"cust-{uuid.uuid4().hex[:8]}",
                    customer_contact=f"customer{uuid.uuid4().hex[:6]}@example.com",
                ),
                survey_id=web.customer_survey.survey_id,
            )
        )
    return await invitation_tokens(
        web.nats_url, count, kind=types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION
    )


def recent_periods(count: int) -> list[str]:
    """The last ``count`` ended calendar months, oldest first: the correlation service
    releases a period's numbers only once it has ended (``pulse_correlation.releases``)."""
    last_month = date.today().replace(day=1) - timedelta(days=1)
    return periods_between(*periods_back(last_month, "month", count))


async def publish_linked_responses(
    web: WebStack,
    periods: Sequence[str],
    per_group: int = 6,
    small: tuple[str, str, int] | None = None,
) -> int:
    """Employee and customer responses per team and period, published as the response
    service would (``pulse.response.recorded``, msg id = response id), with customer scores
    that rise with how staff are treated; ``small`` = (team, period, n) gives one group only
    n people of each kind. Returns how many were published."""
    nc = await nats.connect(web.nats_url)
    count = 0
    try:
        js = nc.jetstream()
        teams = [team for teams in TEAMS.values() for team in teams]
        for t_index, team in enumerate(teams):
            for p_index, period in enumerate(periods):
                level = (t_index + p_index) % 5  # 0..4: how well this team is treated
                size = small[2] if small and small[:2] == (team, period) else per_group
                for person in range(size):
                    wobble = (person + t_index) % 2
                    treat = min(5, 1 + level // 2 + wobble + (1 if level >= 3 else 0))
                    employee = [
                        types_pb2.Answer(item_id="rec.1", score=treat),
                        types_pb2.Answer(item_id="fair.1", score=max(1, treat - wobble)),
                        types_pb2.Answer(item_id="sup.1", score=treat),
                        types_pb2.Answer(item_id="voice.2", score=min(5, treat + wobble)),
                        types_pb2.Answer(item_id="enps.1", score=min(10, 2 * treat)),
                    ]
                    customer = [
                        types_pb2.Answer(
                            item_id="csat.1", score=max(1, min(5, treat + wobble - 1))
                        ),
                        types_pb2.Answer(item_id="staff.1", score=treat),
                        types_pb2.Answer(item_id="nps.1", score=min(10, 2 * treat - wobble)),
                    ]
                    for definition, answers in (
                        (web.employee_survey, employee),
                        (web.customer_survey, customer),
                    ):
                        response_id = str(uuid.uuid4())
                        event = events_pb2.ResponseRecorded(
                            response_id=response_id,
                            survey_id=definition.survey_id,
                            survey_version=definition.version,
                            kind=definition.kind,
                            unit_id=team,
                            period=period,
                            answers=answers,
                            channel="store"
                            if definition.kind == types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION
                            else "",
                            source="import",
                        )
                        await js.publish(
                            RESPONSE_RECORDED,
                            event.SerializeToString(),
                            headers={
                                "Nats-Msg-Id": response_id,
                                "Content-Type": "application/protobuf",
                            },
                        )
                        count += 1
    finally:
        await nc.close()
    return count


async def wait_ingested(web: WebStack, expected: int, timeout_s: float = 20.0) -> None:
    assert web.correlation is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        stats = await web.correlation.GetIngestionStats(corr_pb.GetIngestionStatsRequest())
        if stats.responses_counted >= expected:
            return
        if loop.time() > deadline:
            raise AssertionError(f"correlation counted {stats.responses_counted} of {expected}")
        await asyncio.sleep(0.2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[str]:
    """Serve ``app`` with a real uvicorn server in this loop; yields the base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.02)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
