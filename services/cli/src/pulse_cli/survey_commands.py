"""``pulse items`` and ``pulse survey``: the item bank, and surveys drawn from it (drafts,
immutable published versions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import yaml
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse.types.v1 import types_pb2
from pulse_common.measures import (
    BANK_CONSTRUCTS,
    KIND_NAMES,
    close_matches,
    kind_name,
    parse_kind,
    scale_name,
)

from pulse_cli.context import Stubs
from pulse_cli.enums import enum_label
from pulse_cli.options import json_option, kind_option
from pulse_cli.output import emit, table
from pulse_cli.rpc import run_with_stubs, unary


def survey_kind(name: str | None) -> types_pb2.SurveyKind.ValueType:
    """The proto value of a kind name (UNSPECIFIED for None: every kind)."""
    value = parse_kind(name) if name else types_pb2.SURVEY_KIND_UNSPECIFIED
    if value is None:
        raise click.ClickException(
            f"unknown survey kind {name!r}; {close_matches(str(name), tuple(KIND_NAMES))}"
        )
    return types_pb2.SurveyKind.ValueType(value)


@click.command("items")
@click.option("--construct", default="")
@kind_option
@click.option("--language", default="")
@json_option
def items(construct: str, kind: str | None, language: str, as_json: bool) -> None:
    """The item bank."""
    request = survey_pb.ListItemsRequest(
        construct=construct, language=language, kind=survey_kind(kind)
    )
    reply = unary(lambda s: s.survey.ListItems, request)
    rows = (
        (i.item_id, i.construct, scale_name(i.scale), "yes" if i.reverse_scored else "", i.text)
        for i in reply.items
    )
    emit(
        as_json, reply, table("item bank", ["item", "construct", "scale", "reverse", "text"], rows)
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


async def _bank_items(stubs: Stubs, kind: types_pb2.SurveyKind.ValueType) -> list[str]:
    """The items a survey of ``kind`` asks when none are named: those of the kind's default
    constructs (``pulse_common.measures.BANK_CONSTRUCTS``), in bank order."""
    bank = await stubs.survey.ListItems(
        survey_pb.ListItemsRequest(kind=kind), timeout=stubs.deadline_s
    )
    wanted = BANK_CONSTRUCTS.get(kind_name(kind), ())
    return [i.item_id for i in bank.items if not wanted or i.construct in wanted]


@survey.command("create")
@click.option("--name", default=None)
@kind_option
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
    kind_value = survey_kind(str(kind))
    chosen = [i for i in item_ids.split(",") if i] or [str(i) for i in spec.get("items", [])]

    async def action(stubs: Stubs) -> tuple[int, survey_pb.SurveySummary, int]:
        """(items asked, the draft, the published version or 0)."""
        request = survey_pb.CreateSurveyRequest(
            name=name,
            kind=kind_value,
            item_ids=chosen or await _bank_items(stubs, kind_value),
            min_group_size=min_group_size or int(spec.get("min_group_size", 0)),
            min_comment_group_size=comment_k or int(spec.get("min_comment_group_size", 0)),
            language=spec.get("language", language),
            rated_unit_id=rated_unit or spec.get("rated_unit_id", ""),
            survey_id=survey_id,
        )
        draft = (await stubs.survey.CreateSurvey(request, timeout=stubs.deadline_s)).survey
        if not publish:
            return len(request.item_ids), draft, 0
        published = await stubs.survey.PublishSurvey(
            survey_pb.PublishSurveyRequest(survey_id=draft.survey_id), timeout=stubs.deadline_s
        )
        return len(request.item_ids), draft, published.definition.version

    asked, draft, version = run_with_stubs(action)
    payload: dict[str, Any] = {"survey_id": draft.survey_id}
    lines = [f"created draft {draft.survey_id} ({asked} items)"]
    if version:
        payload["version"] = version
        lines.append(f"published version {version}")
    emit(as_json, payload, "\n".join(lines))


@survey.command("publish")
@click.argument("survey_id")
@json_option
def publish_survey(survey_id: str, as_json: bool) -> None:
    """Publish the draft as an immutable version (thresholds are fixed now)."""
    reply = unary(
        lambda s: s.survey.PublishSurvey, survey_pb.PublishSurveyRequest(survey_id=survey_id)
    )
    d = reply.definition
    emit(
        as_json,
        reply,
        f"published {d.survey_id} v{d.version}: k={d.min_group_size},"
        f" comments k={d.min_comment_group_size}",
    )


@survey.command("list")
@kind_option
@json_option
def list_surveys(kind: str | None, as_json: bool) -> None:
    """All surveys."""
    reply = unary(
        lambda s: s.survey.ListSurveys, survey_pb.ListSurveysRequest(kind=survey_kind(kind))
    )
    rows = (
        (
            s.survey_id,
            s.name,
            kind_name(s.kind),
            enum_label(survey_pb.SurveyStatus.DESCRIPTOR, s.status),
            s.latest_version,
        )
        for s in reply.surveys
    )
    emit(as_json, reply, table("surveys", ["survey", "name", "kind", "status", "version"], rows))


@survey.command("show")
@click.argument("survey_id")
@click.option("--version", type=int, default=0, help="0 = latest published.")
@json_option
def show_survey(survey_id: str, version: int, as_json: bool) -> None:
    """A published version with its items."""
    reply = unary(
        lambda s: s.survey.GetSurvey,
        survey_pb.GetSurveyRequest(survey_id=survey_id, version=version),
    )
    d = reply.definition
    lines = [
        f"{d.name} ({d.survey_id} v{d.version}, {kind_name(d.kind)})",
        f"k = {d.min_group_size}, comments k = {d.min_comment_group_size}",
        *(f"  {item.item_id:<10} {item.construct:<24} {item.text}" for item in d.items),
    ]
    emit(as_json, reply, "\n".join(lines))
