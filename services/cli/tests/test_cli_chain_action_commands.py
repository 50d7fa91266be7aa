"""`pulse org serves ...`, `pulse report chain|chains|chain-show`, `pulse action ...` and
`pulse followup ...` against a real stack: dated serves links (add, end, list as of a day), a
chain report that says when there is not enough data (stored, listed, shown, exported),
actions recorded, listed and shown, the chain constructs in the default employee pulse, and a
detractor's follow-up listed, closed and counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pulse_common.fields import rfc3339

from services.cli.tests.conftest import Pulse, submission

CHAIN_ITEMS = {
    "empowerment": 3,
    "collaboration": 3,
    "strategic_alignment": 3,
    "leader_partnership": 4,
    "training": 3,
}


def test_serves_links_and_the_chain_report(pulse: Pulse) -> None:
    pulse("org create-unit ops --name Operations --type back_office --from 2024-01-01")
    for team in ("t1", "t2"):
        pulse(f"org create-unit {team} --name {team} --type front_line --from 2024-01-01")
    added = pulse.json("org serves add ops t1 t2 --from 2024-02-01")
    assert [(x["served_unit_id"], x["valid_from"]) for x in added["links"]] == [
        ("t1", "2024-02-01"),
        ("t2", "2024-02-01"),
    ]
    pulse("org serves end ops t2 --from 2024-02-01 --on 2025-01-01")
    now = pulse.json("org serves list --as-of 2025-06-01")["links"]
    assert [x["served_unit_id"] for x in now] == ["t1"]
    history = pulse("org serves list --serving ops").stdout
    assert "2025-01-01" in history
    assert "(open)" in history
    refused = pulse("org serves add ops ops", ok=False)
    assert "served_unit_id" in refused.stderr

    report = pulse.json("report chain --bootstrap 200")["report"]
    assert report["service_measure"] == "internal.csat"
    assert report["mediator"] == "treatment.support"
    assert report["verdict"]["level"] == "not_enough_data"
    human = pulse("report chain --mediator treatment.fairness --bootstrap 200").stdout
    assert "VERDICT [not_enough_data]" in human
    assert "indirect path (a*b)" in human
    bad = pulse("report chain --bootstrap 5", ok=False)
    assert "options.bootstrap_resamples" in bad.stderr
    # Every run is stored: listed, shown and exported again.
    stored = pulse.json("report chains")["reports"]
    assert len(stored) == 2
    assert report["report_id"] in {r["report_id"] for r in stored}  # both ran in one second
    again = pulse.json(f"report chain-show {report['report_id']}")["report"]
    assert again == report
    assert "VERDICT [not_enough_data]" in pulse(f"report chain-show {report['report_id']}").stdout
    exported = pulse(f"report export {report['report_id']} --format csv").stdout
    assert "# links" in exported
    assert "# indirect" in exported
    missing = pulse("report chain-show 00000000-0000-0000-0000-000000000000", ok=False)
    assert "not found" in missing.stderr


def test_actions_are_recorded_listed_and_shown(pulse: Pulse) -> None:
    pulse("org create-unit desk --name Desk --type front_line --from 2024-01-01")
    added = pulse.json(
        "action add --unit desk --measure treatment.support --title 'Weekly one-to-ones'"
        " --owner 'Team lead' --start 2026-04-01"
    )["action"]
    assert (added["unit_id"], added["measure"], added["start_date"]) == (
        "desk",
        "treatment.support",
        "2026-04-01",
    )
    listed = pulse.json("action list --unit desk")["actions"]
    assert [a["action_id"] for a in listed] == [added["action_id"]]
    assert "Weekly one-to-ones" in pulse("action list").stdout
    shown = pulse.json(f"action show {added['action_id']}")
    assert shown["start_period"] == "2026-04"
    assert [c.get("when", "") for c in shown["comparisons"]] == ["", "+1", "+2"]
    human = pulse(f"action show {added['action_id']}").stdout
    assert "No comparison for treatment.support" in human  # no answers yet
    refused = pulse(
        "action add --unit desk --measure csat --title x --owner o --start 2026-4-1", ok=False
    )
    assert "start_date" in refused.stderr


def test_the_default_employee_pulse_asks_the_chain_constructs(pulse: Pulse) -> None:
    created = pulse.json("survey create --name Pulse --kind employee_pulse --publish")
    shown = pulse.json(f"survey show {created['survey_id']}")["definition"]
    asked = {(i["item_id"], i["construct"]) for i in shown["items"]}
    for construct, count in CHAIN_ITEMS.items():
        assert sum(1 for _, c in asked if c == construct) == count, construct
    reverse = {i["item_id"] for i in shown["items"] if i.get("reverse_scored")}
    assert {"empw.3", "collab.3", "align.3", "lead.4", "train.3"} <= reverse
    german = pulse.json("items --construct leader_partnership --language de")["items"]
    assert len(german) == 4


def test_detractor_follow_ups_are_listed_closed_and_counted(pulse: Pulse) -> None:
    pulse("org create-unit kiosk --name Kiosk --type front_line --from 2024-01-01")
    survey_id = pulse.json(
        "survey create --name 'After your visit' --kind customer_post_interaction"
        " --items csat.1,nps.1 --publish"
    )["survey_id"]
    at = rfc3339(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5))
    pulse(
        f"interaction record --id visit-1 --unit kiosk --at {at} --channel visit"
        f" --customer-key V1 --contact v1@example.test --survey {survey_id}"
    )
    (token,) = pulse.tokens(survey_id, 1).values()
    request = submission(token, {"csat.1": 1, "nps.1": 2})
    request.contact_consent = True
    request.contact = "v1 prefers a call: 555 0199"
    pulse.submit([request])

    (open_one,) = pulse.json("followup list --unit kiosk")["follow_ups"]
    assert (open_one["construct"], open_one["score"]) == ("csat", 1)
    assert "555 0199" in pulse("followup list --unit kiosk").stdout
    closed = pulse(f"followup close {open_one['follow_up_id']} --outcome 'Called, refunded'")
    assert "Called, refunded" in closed.stdout
    assert pulse.json("followup list --unit kiosk").get("follow_ups", []) == []
    (count,) = pulse.json("followup counts --unit kiosk")["counts"]
    assert (count["flagged"], count["closed"]) == (1, 1)
