"""Properties 9, 10 and 11 against the real processes: k on every read path (teams of k-1, k
and k+1 respondents), complementary suppression (no released parent minus its released
children isolates 1..k-1 people), and differencing attackers (viewers asking every scope
and trend before and after late arrivals cannot isolate 1..k-1 people, alone or pooled).

The wave is labelled with an ended period (it opened weeks ago and is still open), since
the correlation service releases a period's numbers only once it has ended; the first read
freezes them, so the late arrivals that follow change no released number (issue 13).

The attacker is played from outside: from the released cells alone (n per unit subtree) and
the org, the test forms every released group as the set of respondents it covers (each
team's first n arrivals, known to the test because it submitted them) and computes the
atoms: respondents covered by exactly the same released groups. Whatever can be obtained by
adding and subtracting released totals is a union of atoms, so an atom of 1..k-1 people is
a leak. Releases no longer depend on the viewer, so two viewers pooling what each was shown
(``test_two_colluding_viewers``) learn no more than one."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from pulse.correlation.v1 import correlation_service_pb2 as corr_pb
from pulse.response.v1 import response_service_pb2 as resp_pb
from pulse.survey.v1 import survey_service_pb2 as survey_pb
from pulse_cli.context import Stubs
from pulse_testing.faults.load import Respondents, Wave, as_viewer, open_wave, reconcile, report
from pulse_testing.faults.stack import FaultStack

K = 5
# root -> a (4 = k-1), b (5 = k, +1 late), c (6 = k+1, +1 late), e (1), x -> x1 (4), x2 (5), x3 (6)
FIRST = {
    "f09-a": 4,
    "f09-b": 5,
    "f09-c": 6,
    "f09-e": 1,
    "f09-x": 0,
    "f09-x1": 4,
    "f09-x2": 5,
    "f09-x3": 6,
}
LATE = {"f09-b": 1, "f09-c": 1}
PARENTS = {"f09-x1": "f09-x", "f09-x2": "f09-x", "f09-x3": "f09-x"}
CONSTRUCTS = ("treatment.recognition", "treatment.fairness", "enps")


@dataclass
class Org:
    root: str
    parent: dict[str, str]

    def subtree(self, unit: str) -> set[str]:
        found = {unit}
        changed = True
        while changed:
            changed = False
            for child, parent in self.parent.items():
                if parent in found and child not in found:
                    found.add(child)
                    changed = True
        return found

    def children(self, unit: str) -> list[str]:
        return [child for child, parent in self.parent.items() if parent == unit]


def org_of(wave: Wave) -> Org:
    return Org(wave.root, {unit: PARENTS.get(unit, wave.root) for unit in FIRST})


@dataclass
class Attacker:
    """Everything one viewer was shown, as groups of respondents per construct."""

    org: Org
    groups: dict[str, list[frozenset[tuple[str, int]]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    released: int = 0
    inconsistent: list[str] = field(default_factory=list)

    def saw(self, cells: Iterable[corr_pb.ScoreCell], arrived: dict[str, int]) -> None:
        for cell in cells:
            if cell.suppressed or cell.construct not in CONSTRUCTS:
                continue
            members = frozenset(
                (team, i)
                for team in self.org.subtree(cell.unit_id)
                for i in range(arrived.get(team, 0))
            )
            if len(members) != cell.n:
                self.inconsistent.append(
                    f"{cell.unit_id}:{cell.construct}:{cell.n}!={len(members)}"
                )
            self.groups[cell.construct].append(members)
            self.released += 1

    def small_atoms(self, other: Attacker | None = None) -> int:
        """Atoms of 1..k-1 respondents (with ``other``: what two viewers pooled)."""
        small = 0
        for construct in CONSTRUCTS:
            groups = list(self.groups[construct]) + (list(other.groups[construct]) if other else [])
            signature: dict[tuple[str, int], frozenset[int]] = defaultdict(frozenset)
            for index, group in enumerate(groups):
                for member in group:
                    signature[member] = signature[member] | {index}
            sizes = Counter(signature.values())
            small += sum(1 for size in sizes.values() if 0 < size < K)
        return small


async def scores(stubs: Stubs, viewer: str, scope: str, period: str) -> list[corr_pb.ScoreCell]:
    reply = await stubs.correlation.GetScores(
        corr_pb.GetScoresRequest(scope_unit_id=scope, period_from=period, period_to=period),
        timeout=30,
        metadata=as_viewer(stubs, viewer),
    )
    return list(reply.cells)


async def trends(
    stubs: Stubs, viewer: str, unit: str, construct: str, period: str
) -> list[corr_pb.ScoreCell]:
    reply = await stubs.correlation.GetTrends(
        corr_pb.GetTrendsRequest(
            unit_id=unit, construct=construct, period_from=period, period_to=period
        ),
        timeout=30,
        metadata=as_viewer(stubs, viewer),
    )
    return list(reply.points)


async def ask_everything(
    stubs: Stubs, attacker: Attacker, viewer: str, wave: Wave, arrived: dict[str, int]
) -> None:
    """Every scope and every trend a viewer can ask for, in one period."""
    for scope in [wave.root, *FIRST]:
        attacker.saw(await scores(stubs, viewer, scope, wave.period), arrived)
    for unit in [wave.root, *FIRST]:
        for construct in CONSTRUCTS:
            attacker.saw(await trends(stubs, viewer, unit, construct, wave.period), arrived)


@pytest.fixture(scope="module")
def confidential_org() -> dict[str, object]:
    return {}


async def org_with_answers(
    stack: FaultStack, stubs: Stubs, shared: dict[str, object]
) -> tuple[Wave, dict[str, int], Respondents]:
    """One org for the three properties (built by whichever test runs first)."""
    if "wave" not in shared:
        invited = {team: FIRST[team] + LATE.get(team, 0) for team in FIRST}
        wave = await open_wave(
            stack,
            stubs,
            "f09",
            invited,
            PARENTS,
            opens_on=date.today() - timedelta(days=70),
            open_days=90,
        )
        respondents = Respondents(stubs)
        first = [token for team, count in FIRST.items() for token in wave.tokens_of(team)[:count]]
        await respondents.submit_all(first)
        outcome = await reconcile(stack, wave, respondents.tally)
        assert outcome.counted == sum(FIRST.values()), outcome
        shared.update(wave=wave, arrived=dict(FIRST), respondents=respondents)
    kept = shared["respondents"]
    assert isinstance(kept, Respondents)
    kept.stubs = stubs  # the earlier test's channels are closed
    return shared["wave"], shared["arrived"], kept  # type: ignore[return-value]


def released_n(cells: Iterable[corr_pb.ScoreCell], unit: str) -> set[int]:
    return {
        cell.n
        for cell in cells
        if cell.unit_id == unit and not cell.suppressed and cell.construct in CONSTRUCTS
    }


async def test_k_on_every_read_path(
    fault_stack: FaultStack, confidential_org: dict[str, object]
) -> None:
    stack = fault_stack
    a, b, c = "f09-a", "f09-b", "f09-c"  # k-1, k, k+1
    async with stack.stubs() as stubs:
        wave, arrived, _ = await org_with_answers(stack, stubs, confidential_org)
        viewer = "f09-k-reader"
        paths: dict[str, tuple[set[int], set[int], set[int]]] = {}
        cells = await scores(stubs, viewer, wave.root, wave.period)
        paths["GetScores"] = (released_n(cells, a), released_n(cells, b), released_n(cells, c))
        points: dict[str, list[corr_pb.ScoreCell]] = {}
        for unit in (a, b, c):
            points[unit] = await trends(
                stubs, viewer + "-t", unit, "treatment.fairness", wave.period
            )
        paths["GetTrends"] = tuple(released_n(points[u], u) for u in (a, b, c))  # type: ignore[assignment]
        counts = await stubs.response.CountResponses(
            resp_pb.CountResponsesRequest(
                wave_id=wave.wave_id,
                survey_id=wave.survey_id,
                period=wave.period,
            ),
            timeout=30,
            metadata=as_viewer(stubs, viewer),
        )
        by_unit = {count.unit_id: count for count in counts.counts}
        paths["CountResponses"] = tuple(
            set() if u not in by_unit or by_unit[u].suppressed else {by_unit[u].responses}
            for u in (a, b, c)
        )  # type: ignore[assignment]
        rates = await stubs.survey.GetResponseRates(
            survey_pb.GetResponseRatesRequest(wave_id=wave.wave_id),
            timeout=30,
            metadata=as_viewer(stubs, viewer),
        )
        by_rate = {rate.unit_id: rate for rate in rates.rates}
        paths["GetResponseRates"] = tuple(
            set() if u not in by_rate or by_rate[u].suppressed else {by_rate[u].responded}
            for u in (a, b, c)
        )  # type: ignore[assignment]
        comment_sizes = []
        for unit in (a, b, c):
            listed = await stubs.response.ListComments(
                resp_pb.ListCommentsRequest(
                    unit_id=unit,
                    period=wave.period,
                    survey_id=wave.survey_id,
                ),
                timeout=30,
                metadata=as_viewer(stubs, viewer),
            )
            comment_sizes.append(set() if listed.suppressed else {arrived[unit]})
        paths["ListComments"] = tuple(comment_sizes)  # type: ignore[assignment]
    want_b, want_c = {arrived[b]}, {arrived[c]}  # k and k+1 (one more each after late ones)
    leaks = [
        name
        for name, (below, at, above) in paths.items()
        if below or at != want_b or above != want_c
    ]
    report(
        "k-on-read-paths",
        paths=len(paths),
        k=K,
        released_k_minus_1=sum(bool(below) for below, _, _ in paths.values()),
        released_k=sum(at == want_b for _, at, _ in paths.values()),
        released_k_plus_1=sum(above == want_c for _, _, above in paths.values()),
        leaks=",".join(leaks) or "none",
    )
    assert leaks == [], paths


async def test_complementary_suppression(
    fault_stack: FaultStack, confidential_org: dict[str, object]
) -> None:
    stack = fault_stack
    async with stack.stubs() as stubs:
        wave, arrived, _ = await org_with_answers(stack, stubs, confidential_org)
        org = org_of(wave)
        cells = await scores(stubs, "f10-reader", wave.root, wave.period)
    size = {
        unit: sum(arrived.get(team, 0) for team in org.subtree(unit))
        for unit in [wave.root, *FIRST]
    }
    checked = 0
    isolating: list[str] = []
    complementary = 0
    for construct in CONSTRUCTS:
        shown = {
            cell.unit_id for cell in cells if cell.construct == construct and not cell.suppressed
        }
        complementary += sum(
            1
            for cell in cells
            if cell.construct == construct and cell.suppression_reason == "complementary"
        )
        for unit in shown:
            frontier, stack_ = [], list(org.children(unit))
            while stack_:
                node = stack_.pop()
                if node in shown:
                    frontier.append(node)
                else:
                    stack_.extend(org.children(node))
            rest = size[unit] - sum(size[v] for v in frontier)
            checked += 1
            if 0 < rest < K:
                isolating.append(f"{construct}:{unit}:{rest}")
    report(
        "complementary-suppression",
        released_parents=checked,
        complementary_suppressions=complementary,
        residuals_below_k=len(isolating),
    )
    assert complementary >= len(CONSTRUCTS)  # x2 hides x1's four people in x's number
    assert isolating == []


async def attack(
    stack: FaultStack,
    stubs: Stubs,
    wave: Wave,
    arrived: dict[str, int],
    respondents: Respondents,
    viewer: str,
) -> tuple[Attacker, Attacker]:
    """``viewer`` asks everything, late arrivals come in, ``viewer`` asks everything again;
    a second, fresh viewer asks everything only afterwards. The period was frozen by the
    first read, so every released group covers the arrivals counted before it (``frozen``),
    late ones never."""
    org = org_of(wave)
    attacker = Attacker(org)
    frozen = dict(FIRST)  # every test of this module reads before the late arrivals
    await ask_everything(stubs, attacker, viewer, wave, frozen)
    if arrived["f09-b"] == FIRST["f09-b"]:
        late = [
            token
            for team, count in LATE.items()
            for token in wave.tokens_of(team)[FIRST[team] : FIRST[team] + count]
        ]
        await respondents.submit_all(late, start=100)
        for team, count in LATE.items():
            arrived[team] += count
        outcome = await reconcile(stack, wave, respondents.tally)
        assert outcome.counted == sum(arrived.values())
    before = attacker.released
    await ask_everything(stubs, attacker, viewer, wave, frozen)
    assert attacker.released == 2 * before  # the same groups again: nothing moved
    fresh = Attacker(org)
    await ask_everything(stubs, fresh, viewer + "-accomplice", wave, frozen)
    return attacker, fresh


async def test_differencing_attacker_one_viewer(
    fault_stack: FaultStack, confidential_org: dict[str, object]
) -> None:
    stack = fault_stack
    async with stack.stubs() as stubs:
        wave, arrived, respondents = await org_with_answers(stack, stubs, confidential_org)
        attacker, fresh = await attack(stack, stubs, wave, arrived, respondents, "f11-attacker")
    confidential_org["pooled"] = attacker.small_atoms(fresh)
    report(
        "differencing-attacker",
        requests=2 * (len(FIRST) + 1) * (1 + len(CONSTRUCTS)),
        groups_released=attacker.released,
        late_arrivals=sum(LATE.values()),
        isolated_groups=attacker.small_atoms(),
        k=K,
        two_viewers_pooled_isolated=confidential_org["pooled"],
    )
    assert attacker.inconsistent == []
    assert fresh.inconsistent == []
    assert attacker.released > 0
    assert attacker.small_atoms() == 0


async def test_two_colluding_viewers(
    fault_stack: FaultStack, confidential_org: dict[str, object]
) -> None:
    stack = fault_stack
    async with stack.stubs() as stubs:
        wave, arrived, respondents = await org_with_answers(stack, stubs, confidential_org)
        if "pooled" not in confidential_org:
            attacker, fresh = await attack(stack, stubs, wave, arrived, respondents, "f11-pair")
            confidential_org["pooled"] = attacker.small_atoms(fresh)
    assert confidential_org["pooled"] == 0
