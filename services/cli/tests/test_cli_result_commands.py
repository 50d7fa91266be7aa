"""`pulse import responses`, `pulse scores`, `pulse trends`, `pulse comments` and
`pulse report run / list / show / export` against a real stack: four months of history for
six teams imported from CSV files, counted by the correlation service from JetStream, read
back as scores, trends and comments, and related in a stored linkage report."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from pulse_common.measures import REPORT_DEFAULTS
from pulse_web.words import measure_label

from services.cli.tests.conftest import Pulse

TEAMS = [f"team{i}" for i in range(1, 7)]
MONTHS = ["2025-01", "2025-02", "2025-03", "2025-04"]
PER_GROUP = 6  # respondents per team and month, above k = 5
CUSTOMER_ROWS = len(TEAMS) * len(MONTHS) * PER_GROUP
COMMENTED = ("team1", "2025-01")  # ten people, each with a comment (the comment threshold)
EMPLOYEE_ITEMS = [
    *("rec.1", "fair.1", "sup.1", "load.1", "voice.1", "grow.1", "eng.1", "enps.1"),
    *("empw.1", "collab.1", "align.1", "lead.1", "train.1"),  # the chain constructs
]
CUSTOMER_ITEMS = ["csat.1", "nps.1", "ces.1", "staff.1"]


def level(team: int, person: int) -> int:
    """A score from 1 to 5 that grows with the team (so teams differ) and varies within it."""
    return min(5, 1 + (team * 4) // 5 + person % 2)


def employee_csv(path: Path) -> tuple[Path, int]:
    """Employee history with one row the service must reject; returns (file, good rows)."""
    header = ["unit_id", "period", "kind", *EMPLOYEE_ITEMS, "ecomment.1"]
    rows = []
    for t, team in enumerate(TEAMS):
        for month in MONTHS:
            people = 10 if (team, month) == COMMENTED else PER_GROUP
            for p in range(people):
                score = level(t, p)
                comment = f"Idea {p} from the desk." if (team, month) == COMMENTED else ""
                scores = [score] * 7 + [2 * score] + [score] * 5
                rows.append([team, month, "employee_pulse", *scores, comment])
    good = len(rows)
    bad = ["team1", "2025-01", "employee_pulse", 9, *([3] * 6), 7, *([3] * 5), ""]  # 9 on 1-5
    rows.append(bad)
    # Units that do not exist (issue 22: these were imported): refused, line by line.
    rows.append(["NOPE", "2025-01", "employee_pulse", *([3] * 7), 7, *([3] * 5), ""])
    rows.append(["tem3", "2025-02", "employee_pulse", *([3] * 7), 7, *([3] * 5), ""])
    path.write_text(_csv(header, rows))
    return path, good


def customer_csv(path: Path) -> Path:
    header = ["unit_id", "period", "kind", "interaction_date", "channel", *CUSTOMER_ITEMS]
    rows = []
    for t, team in enumerate(TEAMS):
        for month in MONTHS:
            for p in range(PER_GROUP):
                score = level(t, p)
                rows.append(
                    [
                        team,
                        month,
                        "customer_post_interaction",
                        f"{month}-15",
                        "call",
                        score,
                        2 * score,
                        score + 1,
                        score,
                    ]
                )
    path.write_text(_csv(header, rows))
    return path


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@pytest.fixture(scope="module")
def history(pulse: Pulse, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The org, an employee and a customer survey, and their imported history."""
    folder = tmp_path_factory.mktemp("history")
    pulse("org create-unit acme --name Acme --type management --from 2024-01-01")
    for team in TEAMS:
        pulse(f"org create-unit {team} --name {team} --parent acme --from 2024-01-01")
    employee = pulse.json("survey create --name Pulse --kind employee_pulse --publish")
    customer = pulse.json("survey create --name Calls --kind customer_post_interaction --publish")
    employee_file, good = employee_csv(folder / "employees.csv")
    customer_file = customer_csv(folder / "customers.csv")
    survey = employee["survey_id"]
    imports = {
        "dry": pulse(f"import responses {employee_file} --survey {survey} --dry-run"),
        "employees": pulse(f"import responses {employee_file} --survey {survey}"),
        "again": pulse(f"import responses {employee_file} --survey {survey}"),
        "customers": pulse.json(
            f"import responses {customer_file} --survey {customer['survey_id']}"
        ),
    }
    pulse.wait_counted(good + CUSTOMER_ROWS)
    return {"employee_survey": survey, "good": good, **imports}


def test_import_reports_rows_and_rejections(history: dict[str, Any]) -> None:
    good = history["good"]
    assert history["dry"].stdout.strip() == f"{good} rows would be imported (dry run), 3 rejected"
    assert history["employees"].stdout.strip() == f"{good} new, 0 already imported, 3 rejected"
    # The same file again stores nothing new, and says so.
    assert history["again"].stdout.strip() == f"0 new, {good} already imported, 3 rejected"
    bad_line = good + 2  # after the header and every good row
    errors = history["employees"].stderr
    assert f"line {bad_line}: rec.1:" in errors
    nope = f"line {bad_line + 1}: unit_id: 'NOPE' is not a unit of the organisation in 2025-01"
    assert nope in errors
    near = f"line {bad_line + 2}: unit_id: 'tem3' is not a unit of the organisation in 2025-02"
    assert f"{near}; did you mean team3?" in errors
    assert history["customers"]["accepted"] == CUSTOMER_ROWS
    assert history["customers"]["rejected"] == []


def test_scores_and_trends_carry_n_and_intervals(pulse: Pulse, history: dict[str, Any]) -> None:
    february = "scores --scope acme --from 2025-02 --to 2025-02 --construct csat"
    table = pulse(february).stdout
    assert "scores (k = 5)" in table
    assert "team6" in table
    assert "Customer satisfaction (CSAT)" in table  # measures by name (issue 15)
    assert "2025-01" not in table
    cells = {c["unit_id"]: c for c in pulse.json(february)["cells"] if c["unit_id"] in TEAMS}
    assert set(cells) == set(TEAMS)
    assert {c["n"] for c in cells.values()} == {PER_GROUP}
    assert cells["team1"]["value"] < cells["team6"]["value"]
    for cell in cells.values():
        assert cell["ci_low"] <= cell["value"] <= cell["ci_high"]

    trend = pulse("trends team3 treatment.support --from 2025-01 --to 2025-04").stdout
    assert "Manager support in team3" in trend
    points = pulse.json("trends team3 treatment.support")["points"]
    assert [p["period"] for p in points] == MONTHS


def test_comments_only_for_groups_at_the_threshold(pulse: Pulse, history: dict[str, Any]) -> None:
    survey = history["employee_survey"]
    shown = pulse(f"comments --unit team1 --period 2025-01 --survey {survey}").stdout
    assert "- Idea 3 from the desk." in shown
    # As the README writes it: the one published employee survey is the default.
    assert pulse("comments --unit team1 --period 2025-01").stdout == shown
    listed = pulse.json(f"comments --unit team1 --period 2025-01 --survey {survey}")
    assert len(listed["comments"]) == 10
    withheld = pulse(f"comments --unit team2 --period 2025-01 --survey {survey}").stdout
    assert withheld.startswith("suppressed: comments are shown only for groups of at least")


def test_report_run_list_show_export(pulse: Pulse, history: dict[str, Any], tmp_path: Path) -> None:
    whole = f"--scope acme --from {MONTHS[0]} --to {MONTHS[-1]}"
    text = pulse(f"report run {whole} --bootstrap 200 --permutation 200 --seed 1").stdout
    report_id = text.split()[1]
    # The one default report: outcome and lags of REPORT_DEFAULTS.
    assert f"outcome {measure_label(REPORT_DEFAULTS.outcome)};" in text
    assert f"{len(TEAMS)} units reported" in text
    assert "VERDICT [" in text
    assert "Manager support: r = " in text
    assert f"+{REPORT_DEFAULTS.max_lag}:" in text
    assert f"+{REPORT_DEFAULTS.max_lag + 1}:" not in text

    fast = "--bootstrap 0 --permutation 0"
    nps = pulse.json(f"report run {whole} --outcome nps --max-lag 0 --covariate unit_size {fast}")
    nps = nps["report"]
    assert (nps["outcome"], nps.get("max_lag", 0), nps["covariates"]) == ("nps", 0, ["unit_size"])

    listing = pulse("report list").stdout
    assert report_id in listing
    assert nps["report_id"] in listing
    stored = {r["report_id"] for r in pulse.json("report list")["reports"]}
    assert stored >= {report_id, nps["report_id"]}

    assert pulse(f"report show {report_id}").stdout.startswith(f"report {report_id}")
    assert pulse.json(f"report show {report_id}")["report"]["report_id"] == report_id

    assert json.loads(pulse(f"report export {report_id}").stdout)["report_id"] == report_id
    out = tmp_path / "report.csv"
    written = pulse(f"report export {report_id} --format csv -o {out}")
    assert f"wrote {out}" in written.stderr
    assert report_id in out.read_text()

    # Tidy tables for a spreadsheet: one CSV per table, a README column dictionary, the JSON.
    tidy = tmp_path / "report.zip"
    pulse(f"report export {report_id} --format zip -o {tidy}")
    with zipfile.ZipFile(tidy) as archive:
        assert {"README.md", "report.json", "estimates.csv", "unit_points.csv"} <= set(
            archive.namelist()
        )
        points = list(csv.DictReader(io.StringIO(archive.read("unit_points.csv").decode())))
        assert {p["Unit id"] for p in points} == set(TEAMS)
        assert {p["Predictor"] for p in points} >= {"Manager support"}
