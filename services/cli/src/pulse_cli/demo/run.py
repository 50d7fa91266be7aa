"""The state one demo run shares between its stages (setup, waves, interactions, reporting),
what it reports while it goes, and how it fails."""

from __future__ import annotations

from dataclasses import dataclass, field

from nats.js import JetStreamContext

from pulse_cli.context import Stubs
from pulse_cli.demo.generator import Organisation
from pulse_cli.demo.mailbox import Mailbox
from pulse_cli.demo.submit import Submitter, Tally

TRANSPORTS = ("nats", "grpc")
STAGES = (
    "units",
    "roster",
    "interactions published",
    "employee answers",
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
        self.mailbox = Mailbox(self.js)
        self.submitter = Submitter(self.stubs, self.tally)
        self.customer_expected = self.org.counts()["customer_responses_expected"]

    @property
    def deadline(self) -> float:
        return self.stubs.deadline_s
