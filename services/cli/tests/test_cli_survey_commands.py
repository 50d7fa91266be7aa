"""`pulse items`, `pulse survey ...`, `pulse wave ...`, `pulse interaction record`,
`pulse invitations` and `pulse recognition` against a real stack: surveys from the bank, an
item list or a YAML file; a wave scheduled, opened, answered through its tokens, reminded,
rated and closed; customer interactions invited and answered with praise shared by consent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pulse_common.fields import rfc3339
from pulse_common.measures import BANK_CONSTRUCTS

from services.cli.tests.conftest import Pulse, submission

EMPLOYEE_SCORES: dict[str, int | str] = {
    "rec.1": 4,
    "fair.1": 4,
    "sup.1": 5,
    "load.1": 3,
    "voice.1": 4,
    "grow.1": 4,
    "eng.1": 4,
    "enps.1": 9,
    **{item: 4 for item in ("empw.1", "collab.1", "align.1", "lead.1", "train.1")},
}
PRAISE = "Friendly and quick, thank you."
CUSTOMER_SCORES: dict[str, int | str] = {
    "csat.1": 5,
    "nps.1": 10,
    "ces.1": 6,
    "staff.1": 5,
    "ccomment.1": PRAISE,
}


def team_on_roster(pulse: Pulse, tmp_path: Path, unit: str, count: int) -> None:
    pulse(f"org create-unit {unit} --name {unit} --from 2024-01-01")
    roster = tmp_path / f"{unit}.csv"
    roster.write_text(
        "employee_id,email,unit_id,start_date,end_date\n"
        + "".join(f"{unit}{i},{unit}{i}@example.test,{unit},2024-01-01,\n" for i in range(count))
    )
    assert pulse.json(f"org import {roster}")["created"] == count


def test_items_lists_the_bank(pulse: Pulse) -> None:
    customer = pulse("items --kind customer_post_interaction").stdout
    assert "item bank" in customer
    assert "csat.1" in customer
    assert "csat_1_5" in customer
    assert "rec.1" not in customer
    support = pulse.json("items --construct treatment.support")["items"]
    assert {i["item_id"] for i in support} == {"sup.1", "sup.2"}


def test_surveys_from_the_bank_a_list_and_a_file(pulse: Pulse, tmp_path: Path) -> None:
    bank = pulse.json("items --kind employee_pulse")["items"]
    default = [i for i in bank if i["construct"] in BANK_CONSTRUCTS["employee_pulse"]]
    created = pulse("survey create --name 'Team pulse' --kind employee_pulse").stdout
    survey_id = created.split()[2]
    assert created.strip() == f"created draft {survey_id} ({len(default)} items)"
    published = pulse(f"survey publish {survey_id}").stdout
    assert published.strip() == f"published {survey_id} v1: k=5, comments k=10"

    short = pulse.json(
        "survey create --name Short --kind employee_pulse --items rec.1,enps.1 --k 6 "
        "--comment-k 12 --publish"
    )
    assert short["version"] == 1
    shown = pulse.json(f"survey show {short['survey_id']}")["definition"]
    assert [i["item_id"] for i in shown["items"]] == ["rec.1", "enps.1"]
    assert (shown["min_group_size"], shown["min_comment_group_size"]) == (6, 12)

    spec = tmp_path / "survey.yaml"
    spec.write_text(
        "name: After your visit\nkind: customer_post_interaction\n"
        "items: [csat.1, nps.1, ccomment.1]\nmin_group_size: 7\n"
    )
    from_file = pulse.json(f"survey create --file {spec} --publish")["survey_id"]
    human = pulse(f"survey show {from_file}").stdout
    assert human.startswith(f"After your visit ({from_file} v1, customer_post_interaction)")
    assert "k = 7, comments k = 10" in human
    assert "csat.1" in human

    customers = pulse("survey list --kind customer_post_interaction").stdout
    assert "After your visit" in customers
    assert "published" in customers
    assert "Team pulse" not in customers
    every = {s["survey_id"]: s for s in pulse.json("survey list")["surveys"]}
    assert every[survey_id]["latest_version"] == 1

    misspelt = tmp_path / "misspelt.yaml"
    misspelt.write_text("name: Typo\nkind: employe_pulse\n")
    unknown = pulse(f"survey create --file {misspelt}", ok=False)
    assert "unknown survey kind 'employe_pulse'; did you mean employee_pulse?" in unknown.stderr


def test_a_wave_from_schedule_to_close(pulse: Pulse, tmp_path: Path) -> None:
    team_on_roster(pulse, tmp_path, "crew", 6)
    survey_id = pulse.json("survey create --name Crew --kind employee_pulse --publish")["survey_id"]
    scheduled = pulse(
        f"wave schedule {survey_id} --audience crew --cadence monthly "
        f"--first {date.today().isoformat()} --count 2 --open-days 7"
    )
    assert "scheduled waves" in scheduled.stdout
    waves = pulse.json(f"wave list --survey {survey_id}")["waves"]
    assert len(waves) == 2
    assert {w["audience_unit_id"] for w in waves} == {"crew"}
    wave_id = min(waves, key=lambda w: str(w["opens_at"]))["wave_id"]

    opened = pulse(f"wave open {wave_id}").stdout
    assert opened.strip() == (
        f"wave {wave_id} open: 6 invitations issued, 0 held back by the contact budget"
    )
    assert "invitations (6 in all)" in pulse(f"invitations --wave {wave_id}").stdout
    assert pulse.json(f"invitations --wave {wave_id}")["total"] == 6

    tokens = list(pulse.tokens(survey_id, 6).values())
    pulse.submit([submission(token, EMPLOYEE_SCORES) for token in tokens[:5]])
    # The one person who has not answered was invited a moment ago: reminders are spaced.
    assert (
        pulse(f"wave remind {wave_id}")
        .stdout.strip()
        .startswith("0 reminders sent: nobody was due")
    )

    assert "response rates (k = 5)" in pulse(f"wave rates {wave_id}").stdout
    rate = {r["unit_id"]: r for r in pulse.json(f"wave rates {wave_id}")["rates"]}["crew"]
    assert (rate["invited"], rate["responded"]) == (6, 5)

    assert pulse(f"wave close {wave_id}").stdout.strip() == f"wave {wave_id} closed"
    after = {w["wave_id"]: w for w in pulse.json(f"wave list --survey {survey_id}")["waves"]}
    assert after[wave_id]["status"] == "WAVE_STATUS_CLOSED"
    assert "closed" in pulse(f"wave list --survey {survey_id}").stdout


def test_interactions_invite_customers_and_praise_is_shared(pulse: Pulse) -> None:
    pulse("org create-unit shop --name Shop --from 2024-01-01")
    survey_id = pulse.json(
        "survey create --name 'After your call' --kind customer_post_interaction --publish"
    )["survey_id"]
    now = datetime.now(UTC).replace(microsecond=0)

    def record(n: int) -> str:
        at = rfc3339(now - timedelta(minutes=n))
        return pulse(
            f"interaction record --id call-{n} --unit shop --at {at} --channel call "
            f"--customer-key K{n} --contact c{n}@example.test --survey {survey_id}"
        ).stdout.strip()

    assert [record(n) for n in range(10)] == ["invited"] * 10
    assert record(0) == "invited - already recorded, nothing new written"
    listing = pulse(f"invitations --survey {survey_id}").stdout
    assert "invitations (10 in all)" in listing
    assert "call" in listing

    tokens = pulse.tokens(survey_id, 10).values()
    pulse.submit([submission(token, CUSTOMER_SCORES, share=True) for token in tokens])
    # Shared praise waits for a team lead's approval (on the web board) before it is shown.
    assert PRAISE not in pulse("recognition --unit shop").stdout
    assert pulse.json("recognition --unit shop").get("entries", []) == []
    queue = pulse("recognition --unit shop --pending").stdout
    assert "waiting for a team lead" in queue
    assert PRAISE in queue
    assert pulse.json("recognition --unit shop --pending")["entries"][0]["text"] == PRAISE


@pytest.mark.parametrize("period", ["2026-13", "March"])
def test_periods_are_checked_before_anything_is_sent(pulse: Pulse, period: str) -> None:
    refused = pulse(f"recognition --unit shop --from {period}", ok=False)
    assert "a month like 2026-03 or an ISO week like 2026-W11" in refused.stderr
