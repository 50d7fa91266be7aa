"""`pulse dev status` and `pulse org ...` against a real stack: units with their dated
history (create, rename, move, retype, merge, the org as of a date) and the roster (dry run,
import, a full sync refused by the mass-deactivation guard unless forced, bad rows)."""

from __future__ import annotations

from pathlib import Path

from services.cli.tests.conftest import Pulse

ROSTER_HEADER = "employee_id,email,unit_id,start_date,end_date\n"


def roster(path: Path, people: dict[str, str]) -> Path:
    """A roster file of ``people`` (employee id -> unit id)."""
    path.write_text(
        ROSTER_HEADER
        + "".join(f"{e},{e.lower()}@example.test,{u},2024-01-01,\n" for e, u in people.items())
    )
    return path


def units_as_of(pulse: Pulse, day: str) -> dict[str, dict[str, str]]:
    return {u["unit_id"]: u for u in pulse.json(f"org units --as-of {day}")["units"]}


def test_dev_status_reports_every_service_serving(pulse: Pulse) -> None:
    human = pulse("dev status").stdout
    for service in ("survey", "response", "correlation"):
        assert f"{service:<12} SERVING" in human
    assert pulse.json("dev status") == dict.fromkeys(
        ("survey", "response", "correlation"), "SERVING"
    )


def test_units_keep_their_history(pulse: Pulse) -> None:
    created = pulse("org create-unit hq --name 'Head office' --type management --from 2024-01-01")
    assert created.stdout.strip() == "created unit hq from 2024-01-01"
    for unit in ("north", "south"):
        pulse(
            f"org create-unit {unit} --name {unit} --parent hq --type management --from 2024-01-01"
        )
    pulse("org create-unit desk --name Desk --parent north --from 2024-01-01")

    moved = pulse(
        "org update-unit desk --name 'Front desk' --parent south --type back_office "
        "--from 2025-01-01"
    )
    assert moved.stdout.strip() == "unit desk updated from 2025-01-01"
    before, after = units_as_of(pulse, "2024-06-01"), units_as_of(pulse, "2025-06-01")
    assert (before["desk"]["name"], before["desk"]["parent_id"]) == ("Desk", "north")
    assert (after["desk"]["name"], after["desk"]["parent_id"]) == ("Front desk", "south")

    table = pulse("org units --as-of 2025-06-01 --root south").stdout
    assert "units as of 2025-06-01" in table
    assert "Front desk" in table
    assert "back_office" in table
    assert "north" not in table

    merged = pulse("org merge north south --from 2025-02-01")
    assert merged.stdout.startswith("merged north into south;")
    assert "north" in units_as_of(pulse, "2025-01-31")
    assert "north" not in units_as_of(pulse, "2025-03-01")


def test_roster_import_dry_run_sync_and_guard(pulse: Pulse, tmp_path: Path) -> None:
    pulse("org create-unit sales --name Sales --from 2024-01-01")
    people = {f"S{i}": "sales" for i in range(10)}
    file = roster(tmp_path / "roster.csv", people)

    dry = pulse(f"org import {file} --dry-run").stdout
    assert "roster: 10 created, 0 updated, 0 unchanged, 0 deactivated (would be written)" in dry
    assert pulse.json(f"org import {file}")["created"] == 10
    assert pulse.json(f"org import {file}")["unchanged"] == 10

    # A sync that would deactivate half the roster is refused, then accepted with --force.
    half = roster(tmp_path / "half.csv", {e: u for e, u in people.items() if e < "S5"})
    refused = pulse(f"org import {half} --full-sync", ok=False)
    assert "PULSE_DEACTIVATION_GUARD_SHARE" in refused.stderr
    forced = pulse(f"org import {half} --full-sync --force").stdout
    assert "5 deactivated (were written)" in forced

    # A bad row is listed with its line and field, and the command fails.
    bad = tmp_path / "bad.csv"
    bad.write_text(ROSTER_HEADER + "S1,s1@example.test,sales,2024-01-01,\nX,nobody,sales,,\n")
    rejected = pulse(f"org import {bad}", ok=False)
    assert "line 3: email" in rejected.stderr
    assert "1 row(s) rejected" in rejected.stderr


def test_errors_say_what_to_fix(pulse: Pulse) -> None:
    bad = pulse("org create-unit 'bad id!' --name X", ok=False)
    assert "INVALID_ARGUMENT: unit_id:" in bad.stderr
    missing = pulse("org update-unit nowhere --name X --from 2025-01-01", ok=False)
    assert "NOT_FOUND" in missing.stderr
