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
never invited (``no_contact``), so a customer always has at least the contact key.

Checks and stamps are serialised per person, and every transaction takes its locks in one
order, so none can wait on another that waits on it:

1. a customer interaction: the lock of its interaction id;
2. the budget lock: exclusive for a wave opening (it checks and stamps everyone at once),
   shared for an interaction, which then takes
3. one lock per contact key, ascending (``take_interaction_locks``, migration 0002).

Interactions for different people therefore run side by side; two for the same person
(or one racing a wave) queue, and the later one reads the earlier one's stamps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from pulse_common.db import Connection
from pulse_common.fields import EMAIL

from pulse_survey import interaction_repository
from pulse_survey.tokens import contact_pseudonym, employee_pseudonym, pseudonym


def employee_keys(secret: str, email: str) -> list[str]:
    return [contact_pseudonym(secret, email)]


def customer_key_parts(secret: str, contact: str, customer_key: str) -> tuple[list[str], str]:
    """The customer's keys known without the roster, and the employee pseudonym whose
    roster email is one more key ("" when the customer key cannot be an employee id)."""
    keys = [contact_pseudonym(secret, contact)]
    key = customer_key.strip()
    employee = ""
    if key:
        if EMAIL.match(key):
            keys.append(contact_pseudonym(secret, key))
        else:
            keys.append(pseudonym(secret, "customer", key))
            employee = employee_pseudonym(secret, key)
    return list(dict.fromkeys(keys)), employee


async def lock_customer(
    conn: Connection,
    secret: str,
    interaction_id: str,
    contact: str,
    customer_key: str,
    budget_days: int,
) -> list[str]:
    """Take an interaction's locks (steps 1 and, with the budget on, 2 and 3 above) and
    return the customer's keys. Until the caller commits, no other transaction records
    this interaction or checks or stamps any of these keys."""
    keys, employee = customer_key_parts(secret, contact, customer_key)
    budget_on = budget_days > 0
    if not employee:
        await interaction_repository.take_interaction_locks(
            conn, interaction_id, keys if budget_on else None
        )
        return keys
    # The roster email is read with the interaction's lock; its key is locked next.
    email = await interaction_repository.take_interaction_locks(
        conn, interaction_id, None, email_of=employee
    )
    if email is not None:
        keys = list(dict.fromkeys([*keys, contact_pseudonym(secret, email)]))
    if budget_on:
        await interaction_repository.take_interaction_locks(conn, None, keys)
    return keys


async def lock_batch(
    conn: Connection,
    secret: str,
    customers: Sequence[tuple[str, str, str]],
    budget_days: int,
) -> dict[str, list[str]]:
    """Take the locks of a batch of interactions ((interaction id, contact, customer key))
    up front, in the order above: every interaction id, then the budget lock shared and
    every key of every customer (the roster emails read first); returns each customer's
    keys by interaction id (as ``lock_customer`` would; none without a contact). A batch
    thus never takes a lock out of order and cannot deadlock with another batch or a
    single interaction, and what it reads of ``contact_log`` for these keys stays true
    until it commits."""
    parts: dict[str, tuple[list[str], str]] = {}
    for interaction_id, contact, customer_key in customers:
        if contact:
            parts[interaction_id] = customer_key_parts(secret, contact, customer_key)
    employees = sorted({employee for _, employee in parts.values() if employee})
    emails = await interaction_repository.roster_emails(conn, employees)
    found: dict[str, list[str]] = {}
    for interaction_id, (keys, employee) in parts.items():
        email = emails.get(employee) if employee else None
        if email is not None:
            keys = list(dict.fromkeys([*keys, contact_pseudonym(secret, email)]))
        found[interaction_id] = keys
    every_key = sorted({key for keys in found.values() for key in keys})
    await interaction_repository.take_batch_locks(
        conn, [i for i, _, _ in customers], every_key if budget_days > 0 else None
    )
    return found


async def recently_contacted(
    conn: Connection, keys: Sequence[str], today: date, budget_days: int
) -> set[str]:
    """Which of ``keys`` were stamped within the last ``budget_days`` days. Takes the
    budget lock exclusively until the caller commits (a wave opening), so no interaction
    can find one of these people within budget meanwhile."""
    if budget_days <= 0 or not keys:
        return set()
    await interaction_repository.lock_contact_log(conn)
    return await interaction_repository.contacted_since(
        conn, keys, today - timedelta(days=budget_days)
    )


async def asked_since(
    conn: Connection, secret: str, people: Sequence[tuple[str, date]]
) -> set[str]:
    """Which of ``people`` ((email, day of their invitation)) another survey has asked since
    that day: a reminder to them would break the budget. Takes the budget lock exclusively
    until the caller commits, as a wave opening does."""
    if not people:
        return set()
    await interaction_repository.lock_contact_log(conn)
    keys = {email: employee_keys(secret, email)[0] for email, _ in people}
    last = await interaction_repository.last_contacts(conn, list(keys.values()))
    return {
        email
        for email, issued_on in people
        if (asked := last.get(keys[email])) is not None and asked > issued_on
    }


async def stamp(conn: Connection, keys: Sequence[str], today: date) -> None:
    await interaction_repository.stamp_contacts(conn, keys, today)
