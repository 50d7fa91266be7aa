"""Test kits of Pulse: fixtures and helpers that start real PostgreSQL, NATS and services on
loopback (``stack``), and per-service builders (``survey``, ``response``, ``correlation``,
``web``). Installed only with the development requirements; no runtime package imports it."""
