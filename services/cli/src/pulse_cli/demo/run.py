"""The state one demo run shares between its stages (setup, history, interactions, story,
reporting), what it reports while it goes, and how it fails."""

from __future__ import annotations

from dataclasses import dataclass, field

from nats.js import JetStreamContext

from pulse_cli.context import Stubs
from pulse_cli.demo.generator import Interaction, Organisation
from pulse_cli.demo.mailbox import Mailbox
from pulse_cli.demo.submit import Submitter, Tally

TRANSPORTS = ("nats", "grpc")
STAGES = (
    "units",
    "roster",
    "interactions published",
    "employee history",
    "customer history",
    "customer answers",
    "counted",
)


class Progress:
    """What the driver reports; the CLI renders it (rich progress bars, or nothing)."""

    def stage(self, name: str, done: int, total: int) -> None:
        """``done`` of ``total`` rows of stage ``name`` (one of ``STAGES``)."""

    def note(self, text: str) -> None:
        """A milestone worth a line of its own."""


class DemoFailed(Exception):
    """The demo could not finish; the message says what to look at."""


@dataclass
class DemoRun:
    """One run: the services, the generated organisation and what happened so far.
    ``transport`` is how interactions travel: "nats" events or "grpc" RecordInteraction."""

    stubs: Stubs
    js: JetStreamContext
    org: Organisation
    progress: Progress
    transport: str
    tally: Tally = field(default_factory=Tally)
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    employee_survey: str = ""
    employee_version: int = 1
    customer_version: int = 1
    customer_survey: str = ""
    # Customer invitations: announced by RecordInteraction replies (grpc transport), and the
    # interactions whose invitation reached the mailbox.
    recorded_invited: int = 0
    invited_ids: set[str] = field(default_factory=set)
    customer_done: int = 0
    customer_expected: int = field(init=False)
    mailbox: Mailbox = field(init=False)
    submitter: Submitter = field(init=False)

    def __post_init__(self) -> None:
        if self.transport not in TRANSPORTS:
            raise ValueError(f"interactions must be one of {', '.join(TRANSPORTS)}")
        # The JetStream context's own connection (the ``tools`` user): the mailbox subscribes
        # on it with a plain subscription (``mailbox``).
        self.mailbox = Mailbox(self.js._nc)
        self.submitter = Submitter(self.stubs, self.tally)
        self.customer_expected = sum(1 for i in self.live_interactions() if i.responds)

    @property
    def live_from(self) -> int:
        """First period whose interactions go through the live path (``history``)."""
        return max(0, len(self.org.periods) - self.org.config.live_months)

    def live_interactions(self) -> list[Interaction]:
        return [i for i in self.org.interactions if i.period >= self.live_from]

    def imported_interactions(self) -> list[Interaction]:
        """The responding customers' interactions of the imported months."""
        return [i for i in self.org.interactions if i.period < self.live_from and i.responds]

    @property
    def deadline(self) -> float:
        return self.stubs.deadline_s
