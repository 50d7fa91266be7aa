"""Every `pulse ...` line of the README run against a stack (issue 22): each line the README
writes (code blocks and inline code, as `test_cli_readme.py` extracts them) has its concrete
commands below, placeholders (`ID`, `U`, `P`, `FILE`, ...) replaced by the units, surveys,
waves, reports, actions and follow-ups of one prepared stack, and each must exit 0 with
output (or, where the README says it refuses, refuse as it says). The lines that start
processes or a cluster are in `NOT_RUN` with the test that covers them. A README line that
is in neither table fails `test_every_readme_line_is_run_or_said_why_not`."""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from services.cli.tests.conftest import Pulse, submission
from services.cli.tests.test_cli_readme import README, _spans
from services.cli.tests.test_cli_result_commands import customer_csv, employee_csv

TEAMS = [f"team{i}" for i in range(1, 7)]
# Lines `_spans` leaves out: with environment variables first, or as `.venv/bin/pulse`.
WITH_ENV = re.compile(
    r"`((?:[A-Z_]+=\S+ )+pulse [^`]+)`|^\s*((?:[A-Z_]+=\S+ )+pulse [^#\n]+)", re.M
)
VENV = re.compile(r"^\s*\.venv/bin/(pulse [^#\n]+)", re.MULTILINE)
RELOAD_S = 1.5  # services re-read the issuers file at most once a second (test_cli_auth.py)


def readme_lines() -> set[str]:
    """Every `pulse ...` line of the README: `_spans`, and those with variables before them."""
    text = README.read_text(encoding="utf-8")
    found = set(_spans(text))
    for inline, fenced in WITH_ENV.findall(text):
        found.add(" ".join((inline or fenced).split()))
    found.update(line.strip() for line in VENV.findall(text))
    return found


# README line -> why it is not run here, and the test that runs it.
NOT_RUN = {
    # The demo starts its own embedded stack and loads months of history (minutes, not
    # seconds): tests/test_demo_process.py runs `pulse demo --size tiny --seed 3 --json` as a
    # process, and test_cli_demo_driver.py the tiny demo in-process. The other sizes, seeds,
    # `--interactions grpc` and `--no-wait` are not run by any test.
    "pulse demo": "its own stack: tests/test_demo_process.py",
    "pulse demo --seed 3": "its own stack: tests/test_demo_process.py (--seed 3)",
    "pulse demo --json": "its own stack: tests/test_demo_process.py (--json)",
    "pulse demo --size small --seed 1": "its own stack, minutes long: not run",
    "pulse demo --seed N --json --no-wait": "its own stack, minutes long: not run",
    "pulse demo [--size tiny\\|small\\|medium\\|large] [--seed N] [--interactions nats\\|grpc] "
    "[--no-wait] [--json]": "its own stack: tests/test_demo_process.py (tiny), "
    "test_cli_demo_driver.py",
    "pulse dev up": "starts the stack every test here runs on (conftest.py `pulse` fixture, "
    "`dev up --no-web`); tests/test_dev_stack_cli.py",
    "pulse dev down": "stops that stack after the module (conftest.py); "
    "tests/test_dev_stack_cli.py::test_dev_down_leaves_nothing_behind",
    "pulse dev up --cluster": "starts a NATS and a PostgreSQL cluster: tests/cluster "
    "(make test-cluster)",
}

# README line -> the commands that run it, in this order. `{name}` is a value of `world`.
RUNS: list[tuple[str, list[str]]] = [
    ("pulse dev status", ["dev status"]),
    ("pulse dev up / status / down", ["dev status"]),  # up and down: NOT_RUN
    ("pulse dev up/down/status", ["dev status"]),
    ("pulse dev", ["dev --help"]),
    ("pulse nats apply", ["nats apply"]),
    (
        "pulse nats apply --replicas 3 --max-bytes 15000000000 --max-age-days 400",
        # A cluster's setting: one NATS server cannot hold 3 replicas, and says so.
        [
            "! JetStream refused ! nats apply --replicas 3 --max-bytes 15000000000 "
            "--max-age-days 400"
        ],
    ),
    ("pulse auth nats-config", ["auth nats-config"]),
    (
        "pulse auth cert survey --host survey.pulse.svc -o survey-tls",
        ["auth cert survey --host survey.pulse.svc -o {tmp}/survey-tls"],
    ),
    ("pulse auth list", ["auth list"]),
    ("pulse auth whoami", ["auth whoami"]),
    (
        "pulse auth add alice --role analyst [--scope north] [-o alice.json]",
        ["auth add alice --role analyst --scope acme -o {tmp}/alice.json"],
    ),
    # As alice, once the services have re-read the issuers file.
    (
        "PULSE_AUTH_CREDENTIAL_FILE=alice.json pulse scores",
        ["PULSE_AUTH_CREDENTIAL_FILE={tmp}/alice.json scores"],
    ),
    ("pulse auth remove alice", ["auth remove alice"]),
    (
        "PULSE_DATA_DIR=keys pulse auth add web --role leader --role respondent-front",
        [
            "PULSE_DATA_DIR={tmp}/keys auth add web --role leader --role respondent-front",
            # "`... add response --role response`, `... add ops --role admin --role analyst`"
            "PULSE_DATA_DIR={tmp}/keys auth add response --role response",
            "PULSE_DATA_DIR={tmp}/keys auth add ops --role admin --role analyst",
        ],
    ),
    (
        "pulse auth add NAME --role R [--scope U] / list / remove NAME / whoami / token / "
        "cert NAME --host H -o DIR / nats-config",
        [
            "auth add reader --role leader --scope team1",
            "auth list",
            "auth remove reader",
            "auth whoami",
            "auth token",
            "auth cert web --host web.pulse.svc -o {tmp}/web-tls",
            "auth nats-config",
        ],
    ),
    ("pulse auth", ["auth --help"]),
    ("pulse org", ["org --help"]),
    (
        "pulse org create-unit ID --name N [--parent P] [--type front_line\\|back_office\\|"
        "management] [--from DATE]",
        ["org create-unit desk --name Desk --parent acme --type front_line --from 2024-01-01"],
    ),
    (
        "pulse org update-unit ID [--name] [--parent] [--type] --from DATE",
        [
            "org update-unit desk --name 'Front desk' --parent acme --type back_office "
            "--from 2025-01-01"
        ],
    ),
    ("pulse org merge SOURCE TARGET --from DATE", ["org merge left right --from 2025-06-01"]),
    ("pulse org units [--as-of DATE] [--root ID]", ["org units --as-of 2025-06-01 --root acme"]),
    (
        "pulse org import roster.csv [--full-sync] [--force] [--dry-run]",
        ["org import {roster} --full-sync --force --dry-run", "org import {roster}"],
    ),
    ("pulse org serves", ["org serves --help"]),
    ("pulse org serves ...", ["org serves --help"]),
    (
        "pulse org serves add B F1 F2 [--from DATE]",
        ["org serves add acme team1 team2 --from 2024-02-01"],
    ),
    (
        "pulse org serves end B F --from DATE --on DATE",
        ["org serves end acme team2 --from 2024-02-01 --on 2025-01-01"],
    ),
    (
        "pulse org serves list [--as-of DATE] [--serving B]",
        ["org serves list --as-of 2025-06-01 --serving acme"],
    ),
    ("pulse items", ["items"]),
    (
        "pulse items [--construct C] [--kind K]",
        ["items --construct csat --kind customer_post_interaction"],
    ),
    ("pulse comments", ["comments --unit team1 --period 2025-01"]),
    (
        "pulse comments --unit U --period P [--survey S]",
        [
            "comments --unit team1 --period 2025-01 --survey {employee}",
            "comments --unit team1 --period 2025-01",
        ],
    ),
    ("pulse survey", ["survey --help"]),
    (
        "pulse survey create --name N --kind K [--items a,b] [--file survey.yaml] [--k 5] "
        "[--comment-k 10] [--publish]",
        [
            "survey create --name Short --kind customer_post_interaction --items csat.1,nps.1 "
            "--k 5 --comment-k 10 --publish",
            "survey create --file {survey_yaml}",
        ],
    ),
    ("pulse survey create --k 25", ["survey create --name Weekly --kind employee_pulse --k 25"]),
    (
        "pulse survey publish / list / show ID",
        ["survey publish {draft}", "survey list", "survey show {employee}"],
    ),
    ("pulse wave", ["wave --help"]),
    (
        "pulse wave schedule SURVEY --audience UNIT --cadence monthly --first DATE --count N "
        "[--open-days D] [--rotation R]",
        [
            "wave schedule {employee} --audience team6 --cadence monthly --first {today} "
            "--count 2 --open-days 7 --rotation 0"
        ],
    ),
    ("pulse wave list", ["wave list"]),
    (
        "pulse wave open / close / remind / rates WAVE",
        ["wave open {wave}", "wave remind {wave}", "wave rates {wave}"],
    ),
    ("pulse wave remind", ["wave remind {wave}"]),  # while the wave is open
    ("pulse wave open / close / remind / rates WAVE", ["wave close {wave}"]),
    ("pulse interaction record", ["interaction record --help"]),
    (
        "pulse interaction record --id --unit --at --channel --customer-key [--contact]",
        [
            "interaction record --id call-1 --unit shop --at {at} --channel call "
            "--customer-key K1 --contact c1@example.test"
        ],
    ),
    ("pulse invitations", ["invitations"]),
    ("pulse invitations [--wave W]", ["invitations --wave {wave}"]),
    ("pulse import responses", ["import responses --help"]),
    (
        "pulse import responses FILE.csv --survey S [--version V] [--dry-run]",
        ["import responses {customers} --survey {customer} --version 1 --dry-run"],
    ),
    ("pulse recognition", ["recognition --unit shop"]),
    ("pulse recognition --unit U", ["recognition --unit shop"]),
    (
        "pulse recognition --unit U [--from P --to P] [--pending]",
        ["recognition --unit shop --from 2025-01 --to 2025-04 --pending"],
    ),
    ("pulse scores", ["scores"]),
    (
        "pulse scores [--scope U] [--from P] [--to P] [--construct C]",
        ["scores --scope acme --from 2025-01 --to 2025-04 --construct csat"],
    ),
    ("pulse trends", ["trends team3 csat"]),
    ("pulse trends UNIT CONSTRUCT", ["trends team3 treatment.support"]),
    (
        "pulse report run [--scope U] [--from P --to P] [--outcome csat\\|nps\\|ces\\|"
        "staff_treatment] [--max-lag L] [--covariate unit_size ...]",
        [
            "report run --scope acme --from 2025-01 --to 2025-04 --outcome csat --max-lag 1 "
            "--covariate unit_size --bootstrap 0 --permutation 0"
        ],
    ),
    ("pulse report run --predictor internal.csat", ["report run --predictor internal.csat"]),
    (
        "pulse report list / show ID / export ID --format json\\|csv\\|zip -o FILE",
        [
            "report list",
            "report show {report}",
            "report export {report} --format json -o {tmp}/report.json",
            "report export {report} --format csv -o {tmp}/report.csv",
            "report export {report} --format zip -o {tmp}/report.zip",
        ],
    ),
    (
        "pulse report\n  export ID --format zip -o FILE",
        ["report export {report} --format zip -o {tmp}/r.zip"],
    ),
    (
        "pulse report export <id> --format csv|json",
        ["report export {report} --format csv", "report export {report} --format json"],
    ),
    (
        "pulse report run/list/show/export",
        [
            "report run --bootstrap 0 --permutation 0",
            "report list",
            "report show {report}",
            "report export {report}",
        ],
    ),
    ("pulse report chain", ["report chain --bootstrap 200"]),
    (
        "pulse report chain [--scope U] [--from P --to P] [--service internal.csat] "
        "[--mediator treatment.support] [--outcome csat] [--max-lag L] [--bootstrap N] [--seed S]",
        [
            "report chain --scope acme --from 2025-01 --to 2025-04 --service internal.csat "
            "--mediator treatment.support --outcome csat --max-lag 1 --bootstrap 200 --seed 1"
        ],
    ),
    ("pulse report chains", ["report chains"]),
    ("pulse report chain-show <id>", ["report chain-show {chain}"]),
    ("pulse action", ["action --help"]),
    ("pulse action ...", ["action --help"]),
    (
        "pulse action add --unit U --measure M --title T --owner O [--start DATE] [--outcome csat]",
        [
            "action add --unit team1 --measure treatment.support --title 'One-to-ones' "
            "--owner 'Team lead' --start 2025-03-01 --outcome csat"
        ],
    ),
    ("pulse action list [--unit U]", ["action list --unit team1"]),
    ("pulse action show ID [--window 3]", ["action show {action} --window 3"]),
    ("pulse followup", ["followup --help"]),
    ("pulse followup list [--unit U] [--all]", ["followup list --unit kiosk --all"]),
    (
        "pulse followup counts [--unit U] [--from P --to P]",
        ["followup counts --unit kiosk --from 2025-01 --to {month}"],
    ),
    (
        "pulse followup close ID --outcome TEXT",
        ["followup close {followup} --outcome 'Called back'"],
    ),
    ("pulse deadletter", ["deadletter --help"]),
    ("pulse deadletter list/show/replay", ["deadletter list"]),  # show/replay SEQ: below
    (
        "pulse deadletter list [--consumer C] [--limit N]",
        ["deadletter list --consumer correlation-responses --limit 10"],
    ),
    # A dead letter to show or replay by number is made (and shown, replayed) in
    # test_cli_deadletter_delivery.py; here message 1 is an ordinary event, and they say so.
    (
        "pulse deadletter show SEQ [--stream S]",
        ["! not a dead letter ! deadletter show 1 --stream PULSE"],
    ),
    (
        "pulse deadletter replay SEQ... [--stream S] \\| --all [--consumer C] [--keep]",
        [
            "! not a dead letter ! deadletter replay 1 --stream PULSE",
            "deadletter replay --all --consumer correlation-responses --keep",
        ],
    ),
    (
        "pulse deadletter list [--consumer C] / show SEQ [--stream S] / replay SEQ... "
        "\\| --all [--keep]",
        ["deadletter list --consumer correlation-responses", "deadletter replay --all --keep"],
    ),
    ("pulse deadletter replay", ["deadletter replay --all"]),
    ("pulse deadletter replay --all", ["deadletter replay --all"]),
]


# What some of those commands must say (beyond exiting 0 with output), `{name}` as above.
SAYS = {
    "dev status": "SERVING",
    "nats apply": "PULSE",
    "auth cert survey --host survey.pulse.svc -o {tmp}/survey-tls": "certificate for survey",
    "auth add alice --role analyst --scope acme -o {tmp}/alice.json": "credential alice (analyst)",
    "auth remove alice": "issuer alice removed",
    "PULSE_AUTH_CREDENTIAL_FILE={tmp}/alice.json scores": "scores (k = 5)",
    "PULSE_DATA_DIR={tmp}/keys auth add ops --role admin --role analyst": "{tmp}/keys/auth/ops",
    "auth whoami": '"issuer": "operator"',
    "org update-unit desk --name 'Front desk' --parent acme --type back_office "
    "--from 2025-01-01": "unit desk updated from 2025-01-01",
    "org merge left right --from 2025-06-01": "merged left into right",
    "org units --as-of 2025-06-01 --root acme": "Front desk",
    "org import {roster} --full-sync --force --dry-run": "6 created",
    "org serves list --as-of 2025-06-01 --serving acme": "team1",
    "comments --unit team1 --period 2025-01": "- Idea 3 from the desk.",
    "survey publish {draft}": "published {draft} v1",
    "survey show {employee}": "Pulse ({employee} v1, employee_pulse)",
    "wave open {wave}": "6 invitations issued",
    "wave remind {wave}": "reminders sent",
    "wave rates {wave}": "team5",
    "wave close {wave}": "wave {wave} closed",
    "invitations --wave {wave}": "invitations (6 in all)",
    "import responses {customers} --survey {customer} --version 1 --dry-run": "144 rows would",
    "scores --scope acme --from 2025-01 --to 2025-04 --construct csat": "team6",
    "trends team3 treatment.support": "Manager support in team3",
    "report show {report}": "report {report}",
    "report export {report} --format csv -o {tmp}/report.csv": "wrote",
    "report export {report} --format csv": "{report}",
    "report chain-show {chain}": "chain report {chain}",
    "action show {action} --window 3": "action {action}: Coaching",
    "followup list --unit kiosk --all": "kiosk",
    "followup close {followup} --outcome 'Called back'": "closed {followup}: Called back",
    "deadletter list": "dead letters: none",
}


def _write_inputs(folder: Path) -> dict[str, str]:
    roster = folder / "roster.csv"
    roster.write_text(
        "employee_id,email,unit_id,start_date,end_date\n"
        + "".join(f"e{i},e{i}@example.test,team6,2024-01-01,\n" for i in range(6))
    )
    survey_yaml = folder / "survey.yaml"
    survey_yaml.write_text(
        "name: After your visit\nkind: customer_post_interaction\nitems: [csat.1, nps.1]\n"
    )
    employees, good = employee_csv(folder / "employees.csv")
    return {
        "roster": str(roster),
        "survey_yaml": str(survey_yaml),
        "employees": str(employees),
        "good": str(good),
        "customers": str(customer_csv(folder / "customers.csv")),
    }


@pytest.fixture(scope="module")
def world(pulse: Pulse, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The values the README's placeholders stand for, in one prepared stack: an organisation
    with four months of imported history, a draft and published surveys, a scheduled wave
    with its audience on the roster, a linkage and a chain report, an action and an open
    follow-up of a detractor."""
    folder = tmp_path_factory.mktemp("readme")
    world = _write_inputs(folder)
    pulse("org create-unit acme --name Acme --type management --from 2024-01-01")
    for unit in (*TEAMS, "left", "right", "shop", "kiosk"):
        pulse(f"org create-unit {unit} --name {unit} --parent acme --from 2024-01-01")
    crew = folder / "crew.csv"
    crew.write_text(
        "employee_id,email,unit_id,start_date,end_date\n"
        + "".join(f"c{i},c{i}@example.test,team5,2024-01-01,\n" for i in range(6))
    )
    pulse(f"org import {crew}")
    employee = pulse.json("survey create --name Pulse --kind employee_pulse --publish")
    customer = pulse.json("survey create --name Calls --kind customer_post_interaction --publish")
    draft = pulse.json("survey create --name Draft --kind customer_post_interaction")
    world |= {
        "tmp": str(folder),
        "employee": employee["survey_id"],
        "customer": customer["survey_id"],
        "draft": draft["survey_id"],
        "today": date.today().isoformat(),
        "month": date.today().strftime("%Y-%m"),
        "at": (datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)).isoformat(),
    }
    pulse(f"import responses {world['employees']} --survey {world['employee']}")
    pulse(f"import responses {world['customers']} --survey {world['customer']}")
    pulse(
        f"wave schedule {world['employee']} --audience team5 --cadence monthly "
        f"--first {world['today']} --count 1"
    )
    (wave,) = pulse.json(f"wave list --survey {world['employee']}")["waves"]
    world["wave"] = wave["wave_id"]

    visit = pulse.json(
        "survey create --name Visit --kind customer_post_interaction --items csat.1,nps.1 --publish"
    )["survey_id"]
    pulse(
        f"interaction record --id visit-1 --unit kiosk --at {world['at']} --channel visit"
        f" --customer-key V1 --contact v1@example.test --survey {visit}"
    )
    (token,) = pulse.tokens(visit, 1).values()
    request = submission(token, {"csat.1": 1, "nps.1": 2})
    request.contact_consent = True
    request.contact = "v1 prefers a call"
    pulse.submit([request])
    pulse.wait_counted(int(world["good"]) + len(TEAMS) * 4 * 6 + 1)
    (follow_up,) = pulse.json("followup list --unit kiosk")["follow_ups"]
    world["followup"] = follow_up["follow_up_id"]

    fast = "--scope acme --from 2025-01 --to 2025-04 --bootstrap 0 --permutation 0"
    world["report"] = pulse.json(f"report run {fast}")["report"]["report_id"]
    world["chain"] = pulse.json("report chain --bootstrap 200")["report"]["report_id"]
    world["action"] = pulse.json(
        "action add --unit team2 --measure treatment.support --title Coaching --owner Lead"
    )["action"]["action_id"]
    return world


def test_every_readme_line_is_run_or_said_why_not() -> None:
    written = readme_lines()
    covered = {span for span, _ in RUNS} | set(NOT_RUN)
    assert sorted(written - covered) == []
    assert sorted(covered - written) == []  # no entry for a line the README no longer has
    assert not {span for span, _ in RUNS} & set(NOT_RUN)


def test_every_readme_line_runs_against_a_stack(pulse: Pulse, world: dict[str, str]) -> None:
    problems = []
    for span, commands in RUNS:
        for command in commands:
            refusal = ""
            if command.startswith("! "):  # "! what it says ! the command"
                refusal, command = command[2:].split(" ! ", 1)
            line = command.format(**world)
            words = shlex.split(line)
            env = dict(w.split("=", 1) for w in words if re.fullmatch(r"[A-Z_]+=\S+", w))
            if "PULSE_AUTH_CREDENTIAL_FILE" in env:
                time.sleep(RELOAD_S)  # a new credential is trusted within a second
            as_typed = replace(pulse, env={**pulse.env, **env})
            line = " ".join(shlex.quote(w) for w in words[len(env) :])
            try:
                result = as_typed(line, ok=not refusal)
            except AssertionError as failed:
                problems.append(f"{span}: {failed}")
                continue
            said = result.stdout.strip() or result.stderr.strip()
            if refusal and refusal not in result.stderr:
                problems.append(f"{span}: `pulse {line}` did not say {refusal!r}: {result.stderr}")
            elif not said or "Traceback" in result.output:
                problems.append(f"{span}: `pulse {line}` said nothing sensible: {result.output}")
            elif (expected := SAYS.get(command, "").format(**world)) not in result.output:
                problems.append(f"{span}: `pulse {line}` did not say {expected!r}: {said}")
    assert not problems, "\n\n".join(problems)
