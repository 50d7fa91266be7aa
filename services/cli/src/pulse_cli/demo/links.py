"""Where a leader clicks next, as paths on the web front (the CLI prefixes its address):
the dashboard over the demo's months, the report, the team whose action worked and the one
whose action did not, the recognition board, a team's customer comments, and the region
where support works the other way round. Pure: built from the run's records."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlencode

from pulse_cli.demo.run import DemoRun

# Labels, in the order a leader reads them.
DASHBOARD = "dashboard"
REPORT = "report"
ACTION_WORKED = "a team that moved (its action on support)"
ACTION_FAILED = "an action that changed nothing"
BOARD = "recognition board"
COMMENTS = "customer comments"
REGION = "the region where support works the other way"


def _path(path: str, **query: str) -> str:
    return f"{path}?{urlencode(query)}" if query else path


def busiest_team(run: DemoRun, period: int) -> str:
    """The front-line team with the most customer answers in ``period`` (its comments are
    released: the most likely to pass the comment threshold)."""
    counts = Counter(i.unit_id for i in run.org.interactions if i.period == period and i.responds)
    return counts.most_common(1)[0][0] if counts else ""


def leader_links(run: DemoRun, report_id: str, actions: dict[str, str]) -> dict[str, str]:
    org = run.org
    first, last = org.periods[0].label, org.periods[-1].label
    links = {
        DASHBOARD: _path("/dashboard", **{"from": first, "to": last}),
        REPORT: f"/reports/{report_id}",
    }
    if "works" in actions:
        links[ACTION_WORKED] = f"/units/{org.action_team(True)}/actions"
    if "fails" in actions:
        links[ACTION_FAILED] = f"/units/{org.action_team(False)}/actions"
    links[BOARD] = _path("/recognition", **{"from": first, "to": last})
    team = busiest_team(run, len(org.periods) - 1)
    if team and run.customer_survey:
        links[COMMENTS] = _path("/comments", unit=team, period=last, survey=run.customer_survey)
    reversed_teams = set(org.reversed_teams())
    departments = sorted({u.parent_id for u in org.units if u.unit_id in reversed_teams})
    if departments:
        links[REGION] = _path("/dashboard", scope=departments[0], **{"from": first, "to": last})
    return links
