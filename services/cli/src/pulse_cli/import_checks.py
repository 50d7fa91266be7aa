"""The one line that sums up ``pulse import responses`` (pure). Which rows are rejected, a
unit that did not exist in the row's period included, is the response service's answer
(``pulse_response.import_units``)."""

from __future__ import annotations


def summary(accepted: int, already: int, rejected: int, dry_run: bool) -> str:
    """ "N new, M already imported, K rejected" (a dry run: what would be imported)."""
    if dry_run:
        return f"{accepted} rows would be imported (dry run), {rejected} rejected"
    return f"{accepted - already} new, {already} already imported, {rejected} rejected"
