"""The fault suite's kit (``tests/faults``): a real process stack started by ``pulse dev up``'s
machinery, with PostgreSQL, NATS and each service under the suite's control (kill, restart,
freeze), a NATS proxy that loses chosen acknowledgements, and the load that counts what was
submitted, acknowledged, stored and counted."""
