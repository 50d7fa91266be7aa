"""The parts of the demo's story beyond answers: the back office serving its front line
(``SetServes``), the two teams' actions (``AddAction``: the one that works on support, the one
on workload that does not), and team leads approving some of their customers' praise
(``ModerateRecognition``), so that the recognition board has content."""

from __future__ import annotations

from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb

from pulse_cli.demo.latent import SUPPORT, WORKLOAD
from pulse_cli.demo.run import DemoRun

# Team leads approve every other pending story (the rest stay in their queue).
APPROVE_EVERY = 2
ACTION_TITLES = {
    True: "Weekly coaching hour with the team lead",
    False: "Shorter daily stand-up to free time",
}


async def link_serves(run: DemoRun, valid_from: str) -> None:
    """Each back-office team serves a share of the front line (``org.serving_rows``)."""
    links = run.org.serves()
    for serving, served in links:
        await run.stubs.survey.SetServes(
            survey_pb.SetServesRequest(
                serving_unit_id=serving, served_unit_id=served, valid_from=valid_from
            ),
            timeout=run.deadline,
        )
    run.counts["serves_links"] = len(links)
    if links:
        run.progress.note(
            f"{len(links)} serves links: {len({s for s, _ in links})} back-office teams serve "
            "the front line"
        )


async def add_actions(run: DemoRun) -> dict[str, str]:
    """Log the two teams' actions from the month the working one starts; returns
    {"works"|"fails": action id}."""
    org = run.org
    start = org.periods[org.config.action_at].start.isoformat()
    ids: dict[str, str] = {}
    for works, measure in ((True, SUPPORT), (False, WORKLOAD)):
        team = org.action_team(works)
        if not team:
            continue
        added = await run.stubs.correlation.AddAction(
            corr_pb.AddActionRequest(
                unit_id=team,
                measure=measure,
                title=ACTION_TITLES[works],
                owner="team lead",
                start_date=start,
                outcome=org.config.outcome,
            ),
            timeout=run.deadline,
        )
        ids["works" if works else "fails"] = added.action.action_id
    run.progress.note(
        f"actions logged from {start}: {org.action_team(True)} on support (planted to work), "
        f"{org.action_team(False)} on workload (planted to change nothing)"
    )
    return ids


async def approve_praise(run: DemoRun) -> int:
    """Team leads approve every ``APPROVE_EVERY``-th story waiting in their queue."""
    org = run.org
    pending = await run.stubs.response.ListRecognition(
        resp_pb.ListRecognitionRequest(
            period_from=org.periods[0].label,
            period_to=org.periods[-1].label,
            status=resp_pb.RECOGNITION_STATUS_PENDING,
            limit=500,
        ),
        timeout=run.deadline,
    )
    approved = 0
    for n, entry in enumerate(pending.entries):
        if n % APPROVE_EVERY:
            continue
        await run.stubs.response.ModerateRecognition(
            resp_pb.ModerateRecognitionRequest(
                entry_id=entry.entry_id, status=resp_pb.RECOGNITION_STATUS_APPROVED
            ),
            timeout=run.deadline,
        )
        approved += 1
    run.counts["praise_pending"] = len(pending.entries)
    run.counts["praise_approved"] = approved
    run.progress.note(
        f"team leads approved {approved} of {len(pending.entries)} customer praise stories"
    )
    return approved
