"""Pulse correlation service: exactly-once aggregates and honest linkage reports."""

__version__ = "0.1.0"
