"""The contact budget: nobody is asked more than once per ``contact_budget_days``
(``PULSE_CONTACT_BUDGET_DAYS``) across every survey kind — employee pulse, internal service
and customer post-interaction share one ``contact_log``.

Budget keys are HMAC-SHA256 pseudonyms under the deployment secret (never reversible):

- an employee: the key of the normalised email (trimmed, lower-cased), namespace
  ``contact``;
- a customer: the key of the normalised contact the invitation goes to (namespace
  ``contact``: an email, so the same person asked as employee and as customer is one
  entry), plus, when the CRM sends a ``customer_key``: the ``contact`` key of that key when
  it is an email address, else ``HMAC("customer:" + key)``; and when that key is the
  employee id of someone on the roster, that employee's email key as well.

A person is within budget when none of their keys was stamped in the last N days; an
invitation stamps all of them with the day it was issued. A customer without a contact is
never invited (``no_contact``), so a customer always has at least the contact key."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from pulse_common.db import Connection

from pulse_survey import domain, invitation_repository, roster_repository
from pulse_survey.tokens import contact_pseudonym, employee_pseudonym, pseudonym


def employee_keys(secret: str, email: str) -> list[str]:
    return [contact_pseudonym(secret, email)]


async def customer_keys(
    conn: Connection, secret: str, contact: str, customer_key: str
) -> list[str]:
    keys = [contact_pseudonym(secret, contact)]
    key = customer_key.strip()
    if key:
        if domain.EMAIL.match(key):
            keys.append(contact_pseudonym(secret, key))
        else:
            keys.append(pseudonym(secret, "customer", key))
            email = await roster_repository.person_email(conn, employee_pseudonym(secret, key))
            if email is not None:
                keys.append(contact_pseudonym(secret, email))
    return list(dict.fromkeys(keys))


async def recently_contacted(
    conn: Connection, keys: Sequence[str], today: date, budget_days: int
) -> set[str]:
    """Which of ``keys`` were stamped within the last ``budget_days`` days. Takes the
    budget lock until the caller commits, so two concurrent invitations (a wave opening
    while an interaction arrives) cannot both find the same person within budget."""
    if budget_days <= 0 or not keys:
        return set()
    await invitation_repository.lock_contact_log(conn)
    return await invitation_repository.contacted_since(
        conn, keys, today - timedelta(days=budget_days)
    )


async def stamp(conn: Connection, keys: Sequence[str], today: date) -> None:
    await invitation_repository.stamp_contacts(conn, keys, today)
