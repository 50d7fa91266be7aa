"""A dated "serves" link between a serving (back-office) unit and a unit it serves, pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pulse.events.v1 import events_pb2


@dataclass(frozen=True)
class ServesLink:
    serving_unit_id: str
    served_unit_id: str
    valid_from: date
    valid_to: date | None  # exclusive; None = open ended

    def overlaps(self, other: ServesLink) -> bool:
        """True when the two date ranges share a day."""
        self_ends_after = other.valid_to is None or self.valid_from < other.valid_to
        other_ends_after = self.valid_to is None or other.valid_from < self.valid_to
        return self_ends_after and other_ends_after

    def event(self) -> events_pb2.ServesChanged:
        return events_pb2.ServesChanged(
            serving_unit_id=self.serving_unit_id,
            served_unit_id=self.served_unit_id,
            valid_from=self.valid_from.isoformat(),
            valid_to=self.valid_to.isoformat() if self.valid_to else "",
        )

    @property
    def msg_id(self) -> str:
        end = self.valid_to.isoformat() if self.valid_to else "open"
        return f"serves:{self.serving_unit_id}:{self.served_unit_id}:{self.valid_from}:{end}"
