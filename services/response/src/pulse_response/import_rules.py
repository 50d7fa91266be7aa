"""Which periods a historical import may write, pure. Imports exist to bring in results from
before Pulse measured; they must never change a number someone may already have seen, nor
pad a group that is still being measured (four invented rows in a one-person team would
release it at n = 5 and give the real person's answer away by subtraction). So an import
is refused for a period that

- is still open: it has not ended yet, so live answers may still arrive and its numbers
  are not final; or
- already holds responses of the same survey kind from anywhere else (live, or another
  import batch): those numbers may have been released to someone.

Re-sending the same file (the same batch) stays allowed: it changes nothing."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from pulse_common.periods import period_end


def refusal(periods: Collection[str], today: date, held: Collection[str]) -> str | None:
    """Why an import into ``periods`` is refused (None when it is not); ``held`` are the
    periods among them that already hold responses of the kind from elsewhere."""
    still_open = sorted(p for p in periods if period_end(p) >= today)
    if still_open:
        return (
            f"period(s) {', '.join(still_open)} are still open: an import may only add "
            "history of periods that have ended"
        )
    taken = sorted(held)
    if taken:
        return (
            f"period(s) {', '.join(taken)} already hold responses, whose numbers may have "
            "been released: an import must not change them"
        )
    return None
