"""`pulse org serves ...`, `pulse report chain` and `pulse action ...` against a real stack:
dated serves links (add, end, list as of a day), a chain report that says when there is not
enough data, and actions recorded, listed and shown."""

from __future__ import annotations

from services.cli.tests.conftest import Pulse


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
