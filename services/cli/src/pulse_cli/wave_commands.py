"""``pulse wave``: the waves of an employee survey (schedule, open, close, remind, rates)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

import click
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse_survey.settings import reminder_policy
from pulse_survey.wave_followup import REMINDER_SPACING

from pulse_cli.enums import CADENCES, cadence, enum_label
from pulse_cli.options import json_option, scope_option
from pulse_cli.output import Human, emit, table
from pulse_cli.rpc import unary

# Opening a wave issues one token per person in the audience: more work than one lookup.
OPEN_WAVE_AT_LEAST_S = 60.0


def _waves_table(title: str, waves: Iterable[survey_pb.Wave]) -> Human:
    rows: Iterable[Sequence[Any]] = (
        (
            w.wave_id,
            w.survey_id,
            w.period,
            w.audience_unit_id,
            w.opens_at[:10],
            w.closes_at[:10],
            enum_label(survey_pb.WaveStatus.DESCRIPTOR, w.status),
            w.invited,
        )
        for w in waves
    )
    columns = ["wave", "survey", "period", "audience", "opens", "closes", "status", "invited"]
    return table(title, columns, rows)


@click.group()
def wave() -> None:
    """Waves of an employee survey: schedule, open (issues tokens), close, remind."""


def _of_one_wave(name: str) -> Callable[[Callable[..., None]], click.Command]:
    """``pulse wave NAME WAVE_ID [--json]``."""

    def decorate(function: Callable[..., None]) -> click.Command:
        return wave.command(name)(click.argument("wave_id")(json_option(function)))

    return decorate


@wave.command("schedule")
@click.argument("survey_id")
@click.option("--audience", required=True, help="Root unit of the audience subtree.")
@click.option("--cadence", "cadence_name", type=click.Choice(list(CADENCES)), default="monthly")
@click.option("--first", "first_opens_on", required=True, help="ISO date of the first wave.")
@click.option("--count", type=int, default=1)
@click.option("--open-days", type=int, default=7)
@click.option("--rotation", type=int, default=0, help="Rotatable items asked per person.")
@json_option
def schedule_wave(
    survey_id: str,
    audience: str,
    cadence_name: str,
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
        cadence=cadence(cadence_name),
        first_opens_on=first_opens_on,
        count=count,
        open_days=open_days,
        rotation_items_per_person=rotation,
    )
    reply = unary(lambda s: s.survey.ScheduleWave, request)
    emit(as_json, reply, _waves_table("scheduled waves", reply.waves))


@wave.command("list")
@click.option("--survey", "survey_id", default="")
@json_option
def list_waves(survey_id: str, as_json: bool) -> None:
    """Waves, optionally of one survey."""
    reply = unary(lambda s: s.survey.ListWaves, survey_pb.ListWavesRequest(survey_id=survey_id))
    emit(as_json, reply, _waves_table("waves", reply.waves))


@_of_one_wave("open")
def open_wave(wave_id: str, as_json: bool) -> None:
    """Open a wave: one single-use link per active person in the audience."""
    reply = unary(
        lambda s: s.survey.OpenWave,
        survey_pb.OpenWaveRequest(wave_id=wave_id),
        at_least_s=OPEN_WAVE_AT_LEAST_S,
    )
    emit(
        as_json,
        reply,
        f"wave {wave_id} open: {reply.invitations_issued} invitations issued,"
        f" {reply.suppressed_by_contact_budget} held back by the contact budget",
    )


@_of_one_wave("close")
def close_wave(wave_id: str, as_json: bool) -> None:
    """Close a wave: its links stop working."""
    reply = unary(lambda s: s.survey.CloseWave, survey_pb.CloseWaveRequest(wave_id=wave_id))
    emit(as_json, reply, f"wave {wave_id} closed")


@_of_one_wave("remind")
def remind(wave_id: str, as_json: bool) -> None:
    """Remind people who have not answered (nobody learns who they are)."""
    reply = unary(lambda s: s.survey.SendReminders, survey_pb.SendRemindersRequest(wave_id=wave_id))
    maximum = reminder_policy(os.environ).max_reminders
    emit(as_json, reply, reminders_line(reply, maximum, REMINDER_SPACING))


def reminders_line(
    reply: survey_pb.SendRemindersResponse, max_reminders: int, spacing: timedelta
) -> str:
    """How many were reminded and, when none was, why."""
    sent = f"{reply.reminders_sent} reminders sent"
    held = reply.held_back_by_contact_budget
    held_text = f"{held} held back by the contact budget (another survey asked them recently)"
    if reply.reminders_sent:
        return f"{sent}; {held_text}" if held else sent
    if held:
        return f"{sent}: {held_text}"
    if max_reminders == 0:
        return f"{sent}: reminders are turned off (PULSE_MAX_REMINDERS=0)"
    hours = int(spacing.total_seconds() // 3600)
    return (
        f"{sent}: nobody was due. People are reminded only while they have not answered, at"
        f" most {max_reminders} times (PULSE_MAX_REMINDERS) and never within {hours} hours of"
        f" their last link; everyone left has answered, was invited or reminded in the last"
        f" {hours} hours, or has had {max_reminders} reminders."
    )


@_of_one_wave("rates")
@scope_option
def rates(wave_id: str, scope: str, as_json: bool) -> None:
    """Response rates per unit (groups under k are suppressed)."""
    request = survey_pb.GetResponseRatesRequest(wave_id=wave_id)
    reply = unary(lambda s: s.survey.GetResponseRates, request, scope=scope)
    rows = (
        (
            r.unit_id,
            "-" if r.suppressed else r.invited,
            "-" if r.suppressed else r.responded,
            f"suppressed: {r.suppression_reason}" if r.suppressed else f"{r.rate:.0%}",
        )
        for r in reply.rates
    )
    title = f"response rates (k = {reply.min_group_size})"
    emit(as_json, reply, table(title, ["unit", "invited", "responded", "rate"], rows))
