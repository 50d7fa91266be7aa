"""Issue 22's command-line rules, pure: ids are never cut short in a table, every option's
help shows its default, ``wave remind`` says why nobody was reminded, an import's summary
line and its unit check."""

from __future__ import annotations

from datetime import timedelta

import click
import pytest
from click.testing import CliRunner
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse_cli import output
from pulse_cli.import_checks import summary
from pulse_cli.main import cli
from pulse_cli.wave_commands import reminders_line
from pulse_response.import_units import unit_problem
from rich.console import Console

WAVE = "38bf5b2e-1a2b-4c3d-9e8f-0123456789ab"


@pytest.mark.parametrize("width", [60, 80, 200])
def test_tables_never_truncate_ids(
    width: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "stdout", Console(width=width, force_terminal=False))
    columns = ["wave", "survey", "status", "title"]
    title = "A free-text title long enough to need wrapping in any narrow terminal"
    output.print_table("waves", columns, [(WAVE, WAVE.upper(), "open", title)])
    printed = capsys.readouterr().out
    assert WAVE in printed
    assert WAVE.upper() in printed
    assert "…" not in printed
    # Whole on one line each, so a terminal's copy takes the full id.
    assert any(line.strip().endswith(WAVE) or f" {WAVE} " in line for line in printed.splitlines())


def _options(command: click.Command, path: str) -> list[tuple[str, click.Option]]:
    found = [(path, p) for p in command.params if isinstance(p, click.Option)]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            found += _options(sub, f"{path} {name}")
    return found


def test_help_shows_each_default() -> None:
    runner = CliRunner()
    shown = " ".join(runner.invoke(cli, ["report", "run", "--help"]).output.split())
    assert "[default: csat]" in shown
    assert "[default: (whole organisation)]" in shown
    assert "[default: (no bound)]" in shown
    assert "[default: ]" not in shown
    for path, option in _options(cli, "pulse"):
        if option.default in ("", 0) and not option.is_flag:
            assert option.show_default is not None, (path, option.name)
    demo = " ".join(runner.invoke(cli, ["demo", "--help"]).output.split())
    for documented in ("tiny = ", "--no-wait", "Stop the stack", "--interactions"):
        assert documented in demo


def test_remind_says_why_nobody_was_reminded() -> None:
    spacing = timedelta(hours=20)
    none_due = reminders_line(survey_pb.SendRemindersResponse(), 2, spacing)
    assert none_due.startswith("0 reminders sent: nobody was due.")
    assert "at most 2 times" in none_due
    assert "within 20 hours" in none_due
    held = survey_pb.SendRemindersResponse(held_back_by_contact_budget=4)
    assert reminders_line(held, 2, spacing) == (
        "0 reminders sent: 4 held back by the contact budget (another survey asked them recently)"
    )
    off = reminders_line(survey_pb.SendRemindersResponse(), 0, spacing)
    assert "turned off" in off
    sent = reminders_line(survey_pb.SendRemindersResponse(reminders_sent=3), 2, spacing)
    assert sent == "3 reminders sent"


def test_imports_refuse_units_outside_the_org_of_their_period() -> None:
    # The one rule, shared with the response service that enforces it (pulse_response).
    units_in = {"2025-01": {"team1", "team2"}, "2025-02": {"team1"}}
    rows = [(2, "team1", "2025-01"), (3, "team2", "2025-02"), (4, "NOPE", "2025-01")]
    problems = [(line, unit_problem(unit, period, units_in[period])) for line, unit, period in rows]
    assert [(line, reason) for line, reason in problems if reason] == [
        (3, "'team2' is not a unit of the organisation in 2025-02; did you mean team1?"),
        (4, "'NOPE' is not a unit of the organisation in 2025-01"),
    ]
    assert summary(10, 4, 2, dry_run=False) == "6 new, 4 already imported, 2 rejected"
    assert summary(10, 0, 2, dry_run=True) == "10 rows would be imported (dry run), 2 rejected"


def test_every_command_takes_json() -> None:
    missing = []

    def walk(command: click.Command, path: str) -> None:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}")
        elif "as_json" not in {param.name for param in command.params}:
            missing.append(path)

    walk(cli, "pulse")
    assert missing == []


def test_a_rejected_row_names_its_field_once(capsys: pytest.CaptureFixture[str]) -> None:
    output.echo_rejected([(3, "email", "email: must be an e-mail address like name@example.org")])
    assert capsys.readouterr().err == (
        "  line 3: email: must be an e-mail address like name@example.org\n"
    )
