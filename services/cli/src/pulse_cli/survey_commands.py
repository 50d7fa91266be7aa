"""``pulse items``, ``pulse survey``, ``pulse wave``, ``pulse interaction``,
``pulse invitations``: who is asked what, when."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import yaml
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2

from pulse_cli.context import Stubs, emit
from pulse_cli.runner import json_option, operator_viewer, run_with_stubs
from pulse_cli.tables import print_table

KINDS = {
    "employee_pulse": types_pb2.SURVEY_KIND_EMPLOYEE_PULSE,
    "customer_post_interaction": types_pb2.SURVEY_KIND_CUSTOMER_POST_INTERACTION,
    "internal_service": types_pb2.SURVEY_KIND_INTERNAL_SERVICE,
}
KIND_NAMES = {v: k for k, v in KINDS.items()}
CADENCES = {
    "once": survey_pb.CADENCE_ONCE,
    "weekly": survey_pb.CADENCE_WEEKLY,
    "fortnightly": survey_pb.CADENCE_FORTNIGHTLY,
    "monthly": survey_pb.CADENCE_MONTHLY,
}
# Constructs a survey of each kind asks when created from the bank without --items.
BANK_CONSTRUCTS = {
    "employee_pulse": (
        "treatment.recognition",
        "treatment.fairness",
        "treatment.support",
        "treatment.workload",
        "treatment.voice",
        "treatment.growth",
        "engagement",
        "enps",
        "comment",
    ),
    "customer_post_interaction": ("csat", "nps", "ces", "staff_treatment", "comment"),
}


@click.command("items")
@click.option("--construct", default="")
@click.option("--kind", type=click.Choice(list(KINDS)), default=None)
@click.option("--language", default="")
@json_option
def items(construct: str, kind: str | None, language: str, as_json: bool) -> None:
    """The item bank."""

    async def action(stubs: Stubs) -> survey_pb.ListItemsResponse:
        request = survey_pb.ListItemsRequest(
            construct=construct,
            language=language,
            kind=KINDS[kind] if kind else types_pb2.SURVEY_KIND_UNSPECIFIED,
        )
        return await stubs.survey.ListItems(request, timeout=stubs.deadline_s)

    reply = run_with_stubs(action)
    if as_json:
        emit(True, reply)
        return
    print_table(
        "item bank",
        ["item", "construct", "scale", "reverse", "text"],
        (
            (
                i.item_id,
                i.construct,
                types_pb2.Scale.Name(i.scale).removeprefix("SCALE_").lower(),
                "yes" if i.reverse_scored else "",
                i.text,
            )
            for i in reply.items
        ),
    )


@click.group()
def survey() -> None:
    """Surveys: drafts, immutable published versions."""


def _survey_from_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise click.ClickException(f"{path}: not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise click.ClickException(f"{path}: expected a mapping with name, kind and items")
    return document


@survey.command("create")
@click.option("--name", default=None)
@click.option("--kind", type=click.Choice(list(KINDS)), default=None)
@click.option("--items", "item_ids", default="", help="Comma-separated item ids (bank order).")
@click.option("--file", "yaml_file", type=click.Path(exists=True, path_type=Path), default=None)
@click.option("--k", "min_group_size", type=int, default=0, help="Minimum group size (5).")
@click.option("--comment-k", type=int, default=0, help="Minimum group for comments (10).")
@click.option("--language", default="en")
@click.option("--rated-unit", default="", help="internal_service: the unit being rated.")
@click.option("--revise", "survey_id", default="", help="Create the next version of a survey.")
@click.option("--publish", is_flag=True, help="Publish right away.")
@json_option
def create_survey(
    name: str | None,
    kind: str | None,
    item_ids: str,
    yaml_file: Path | None,
    min_group_size: int,
    comment_k: int,
    language: str,
    rated_unit: str,
    survey_id: str,
    publish: bool,
    as_json: bool,
) -> None:
    """Create a survey draft from the bank (default items for its kind), a list of items, or
    a YAML file (name, kind, items, min_group_size, min_comment_group_size, language)."""
    spec: dict[str, Any] = _survey_from_yaml(yaml_file) if yaml_file else {}
    name = name or spec.get("name")
    kind = kind or spec.get("kind")
    if not name or not kind:
        raise click.ClickException("a survey needs --name and --kind (or both in --file)")
    if kind not in KINDS:
        raise click.ClickException(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    chosen = [i for i in item_ids.split(",") if i] or [str(i) for i in spec.get("items", [])]

    async def action(stubs: Stubs) -> tuple[survey_pb.CreateSurveyResponse, Any]:
        nonlocal chosen
        if not chosen:
            bank = await stubs.survey.ListItems(
                survey_pb.ListItemsRequest(kind=KINDS[kind]), timeout=stubs.deadline_s
            )
            wanted = BANK_CONSTRUCTS.get(kind, ())
            chosen = [i.item_id for i in bank.items if not wanted or i.construct in wanted]
        request = survey_pb.CreateSurveyRequest(
            name=name,
            kind=KINDS[kind],
            item_ids=chosen,
            min_group_size=min_group_size or int(spec.get("min_group_size", 0)),
            min_comment_group_size=comment_k or int(spec.get("min_comment_group_size", 0)),
            language=spec.get("language", language),
            rated_unit_id=rated_unit or spec.get("rated_unit_id", ""),
            survey_id=survey_id,
        )
        created = await stubs.survey.CreateSurvey(request, timeout=stubs.deadline_s)
        published = None
        if publish:
            published = await stubs.survey.PublishSurvey(
                survey_pb.PublishSurveyRequest(survey_id=created.survey.survey_id),
                timeout=stubs.deadline_s,
            )
        return created, published

    created, published = run_with_stubs(action)
    if as_json:
        payload: dict[str, Any] = {"survey_id": created.survey.survey_id}
        if published is not None:
            payload["version"] = published.definition.version
        emit(True, payload)
        return
    click.echo(f"created draft {created.survey.survey_id} ({len(chosen)} items)")
    if published is not None:
        click.echo(f"published version {published.definition.version}")


@survey.command("publish")
@click.argument("survey_id")
@json_option
def publish_survey(survey_id: str, as_json: bool) -> None:
    """Publish the draft as an immutable version (thresholds are fixed now)."""

    async def action(stubs: Stubs) -> survey_pb.PublishSurveyResponse:
        request = survey_pb.PublishSurveyRequest(survey_id=survey_id)
        return await stubs.survey.PublishSurvey(request, timeout=stubs.deadline_s)

    reply = run_with_stubs(action)
    d = reply.definition
    emit(
        as_json,
        reply,
        f"published {d.survey_id} v{d.version}: k={d.min_group_size},"
        f" comments k={d.min_comment_group_size}",
    )


@survey.command("list")
@click.option("--kind", type=click.Choice(list(KINDS)), default=None)
@json_option
def list_surveys(kind: str | None, as_json: bool) -> None:
    """All surveys."""

    async def action(stubs: Stubs) -> survey_pb.ListSurveysResponse:
        request = survey_pb.ListSurveysRequest(
            kind=KINDS[kind] if kind else types_pb2.SURVEY_KIND_UNSPECIFIED
        )
        return await stubs.survey.ListSurveys(request, timeout=stubs.deadline_s)

    reply = run_with_stubs(action)
    if as_json:
        emit(True, reply)
        return
    print_table(
        "surveys",
        ["survey", "name", "kind", "status", "version"],
        (
            (
                s.survey_id,
                s.name,
                KIND_NAMES.get(s.kind, ""),
                survey_pb.SurveyStatus.Name(s.status).removeprefix("SURVEY_STATUS_").lower(),
                s.latest_version,
            )
            for s in reply.surveys
        ),
    )


@survey.command("show")
@click.argument("survey_id")
@click.option("--version", type=int, default=0, help="0 = latest published.")
@json_option
def show_survey(survey_id: str, version: int, as_json: bool) -> None:
    """A published version with its items."""

    async def action(stubs: Stubs) -> survey_pb.GetSurveyResponse:
        request = survey_pb.GetSurveyRequest(survey_id=survey_id, version=version)
        return await stubs.survey.GetSurvey(request, timeout=stubs.deadline_s)

    reply = run_with_stubs(action)
    if as_json:
        emit(True, reply)
        return
    d = reply.definition
    click.echo(f"{d.name} ({d.survey_id} v{d.version}, {KIND_NAMES.get(d.kind, '')})")
    click.echo(f"k = {d.min_group_size}, comments k = {d.min_comment_group_size}")
    for item in d.items:
        click.echo(f"  {item.item_id:<10} {item.construct:<24} {item.text}")


@click.group()
def wave() -> None:
    """Waves of an employee survey: schedule, open (issues tokens), close, remind."""


def _wave_rows(waves: Any) -> Any:
    return (
        (
            w.wave_id,
            w.survey_id,
            w.period,
            w.audience_unit_id,
            w.opens_at[:10],
            w.closes_at[:10],
            survey_pb.WaveStatus.Name(w.status).removeprefix("WAVE_STATUS_").lower(),
            w.invited,
        )
        for w in waves
    )


WAVE_COLUMNS = ["wave", "survey", "period", "audience", "opens", "closes", "status", "invited"]


@wave.command("schedule")
@click.argument("survey_id")
@click.option("--audience", required=True, help="Root unit of the audience subtree.")
@click.option("--cadence", type=click.Choice(list(CADENCES)), default="monthly")
@click.option("--first", "first_opens_on", required=True, help="ISO date of the first wave.")
@click.option("--count", type=int, default=1)
@click.option("--open-days", type=int, default=7)
@click.option("--rotation", type=int, default=0, help="Rotatable items asked per person.")
@json_option
def schedule_wave(
    survey_id: str,
    audience: str,
    cadence: str,
    first_opens_on: str,
    count: int,
    open_days: int,
    rotation: int,
    as_json: bool,
) -> None:
    """Schedule one or more waves."""
    request = survey_pb.ScheduleWaveRequest(
        survey_id=survey_id,
        audience_unit_id=audience,
        cadence=CADENCES[cadence],
        first_opens_on=first_opens_on,
        count=count,
        open_days=open_days,
        rotation_items_per_person=rotation,
    )

    async def action(stubs: Stubs) -> survey_pb.ScheduleWaveResponse:
        return await stubs.survey.ScheduleWave(request, timeout=stubs.deadline_s)

    reply = run_with_stubs(action)
    if as_json:
        emit(True, reply)
        return
    print_table("scheduled waves", WAVE_COLUMNS, _wave_rows(reply.waves))


@wave.command("open")
@click.argument("wave_id")
@json_option
def open_wave(wave_id: str, as_json: bool) -> None:
    """Open a wave: one single-use link per active person in the audience."""

    async def action(stubs: Stubs) -> survey_pb.OpenWaveResponse:
        request = survey_pb.OpenWaveRequest(wave_id=wave_id)
        return await stubs.survey.OpenWave(request, timeout=max(60.0, stubs.deadline_s))

    reply = run_with_stubs(action)
    emit(
        as_json,
        reply,
        f"wave {wave_id} open: {reply.invitations_issued} invitations issued,"
        f" {reply.suppressed_by_contact_budget} held back by the contact budget",
    )


@wave.command("close")
@click.argument("wave_id")
@json_option
def close_wave(wave_id: str, as_json: bool) -> None:
    """Close a wave: its links stop working."""

    async def action(stubs: Stubs) -> survey_pb.CloseWaveResponse:
        request = survey_pb.CloseWaveRequest(wave_id=wave_id)
        return await stubs.survey.CloseWave(request, timeout=stubs.deadline_s)

    reply = run_with_stubs(action)
    emit(as_json, reply, f"wave {wave_id} closed")


@wave.command("list")
@click.option("--survey", "survey_id", default="")
@json_option
def list_waves(survey_id: str, as_json: bool) -> None:
    """Waves, optionally of one survey."""

    async def action(stubs: Stubs) -> survey_pb.ListWavesResponse:
        request = survey_pb.ListWavesRequest(survey_id=survey_id)
        return await stubs.survey.ListWaves(request, timeout=stubs.deadline_s)

    reply = run_with_stubs(action)
    if as_json:
        emit(True, reply)
        return
    print_table("waves", WAVE_COLUMNS, _wave_rows(reply.waves))


@wave.command("remind")
@click.argument("wave_id")
@json_option
def remind(wave_id: str, as_json: bool) -> None:
    """Remind people who have not answered (nobody learns who they are)."""

    async def action(stubs: Stubs) -> survey_pb.SendRemindersResponse:
        request = survey_pb.SendRemindersRequest(wave_id=wave_id)
        return await stubs.survey.SendReminders(request, timeout=stubs.deadline_s)

    reply = run_with_stubs(action)
    emit(as_json, reply, f"{reply.reminders_sent} reminders sent")


@wave.command("rates")
@click.argument("wave_id")
@click.option("--scope", default="", help="Only units in this subtree.")
@json_option
def rates(wave_id: str, scope: str, as_json: bool) -> None:
    """Response rates per unit (groups under k are suppressed)."""

    async def action(stubs: Stubs) -> survey_pb.GetResponseRatesResponse:
        request = survey_pb.GetResponseRatesRequest(wave_id=wave_id, viewer=operator_viewer(scope))
        return await stubs.survey.GetResponseRates(request, timeout=stubs.deadline_s)

    reply = run_with_stubs(action)
    if as_json:
        emit(True, reply)
        return
    print_table(
        f"response rates (k = {reply.min_group_size})",
        ["unit", "invited", "responded", "rate"],
        (
            (
                r.unit_id,
                "-" if r.suppressed else r.invited,
                "-" if r.suppressed else r.responded,
                f"suppressed: {r.suppression_reason}" if r.suppressed else f"{r.rate:.0%}",
            )
            for r in reply.rates
        ),
    )


@click.group()
def interaction() -> None:
    """Customer interactions (normally published by a CRM on NATS)."""


@interaction.command("record")
@click.option("--id", "interaction_id", required=True)
@click.option("--unit", "unit_id", required=True)
@click.option("--at", "occurred_at", required=True, help="RFC 3339 time of the interaction.")
@click.option("--channel", required=True, help="ticket, call, visit, chat ...")
@click.option("--customer-key", required=True)
@click.option("--contact", default="", help="Where to send the survey (email).")
@click.option("--staff", default="", help="Staff pseudonym.")
@click.option("--survey", "survey_id", default="", help="Customer survey (latest published).")
@json_option
def record_interaction(
    interaction_id: str,
    unit_id: str,
    occurred_at: str,
    channel: str,
    customer_key: str,
    contact: str,
    staff: str,
    survey_id: str,
    as_json: bool,
) -> None:
    """Record one interaction; sampling and the contact budget decide on an invitation."""
    request = survey_pb.RecordInteractionRequest(
        interaction=survey_pb.Interaction(
            interaction_id=interaction_id,
            unit_id=unit_id,
            occurred_at=occurred_at,
            channel=channel,
            customer_key=customer_key,
            customer_contact=contact,
            staff_pseudonym=staff,
        ),
        survey_id=survey_id,
    )

    async def action(stubs: Stubs) -> survey_pb.RecordInteractionResponse:
        return await stubs.survey.RecordInteraction(request, timeout=stubs.deadline_s)

    reply = run_with_stubs(action)
    decision = survey_pb.InteractionDecision.Name(reply.decision).removeprefix(
        "INTERACTION_DECISION_"
    )
    human = f"{decision.lower()}"
    if reply.suppression_reason:
        human += f" ({reply.suppression_reason})"
    if reply.duplicate:
        human += " - already recorded, nothing new written"
    emit(as_json, reply, human)


@click.command("invitations")
@click.option("--wave", "wave_id", default="")
@click.option("--survey", "survey_id", default="")
@click.option("--limit", type=int, default=50)
@json_option
def invitations(wave_id: str, survey_id: str, limit: int, as_json: bool) -> None:
    """Issued invitations (delivery facts only; never who answered)."""

    async def action(stubs: Stubs) -> survey_pb.ListInvitationsResponse:
        request = survey_pb.ListInvitationsRequest(
            wave_id=wave_id, survey_id=survey_id, limit=limit
        )
        return await stubs.survey.ListInvitations(request, timeout=stubs.deadline_s)

    reply = run_with_stubs(action)
    if as_json:
        emit(True, reply)
        return
    print_table(
        f"invitations ({reply.total} in all)",
        ["invitation", "survey", "wave", "channel", "issued", "expires", "reminders"],
        (
            (
                i.invitation_id,
                i.survey_id,
                i.wave_id,
                i.channel,
                i.issued_at[:16],
                i.expires_at[:16],
                i.reminders_sent,
            )
            for i in reply.invitations
        ),
    )
