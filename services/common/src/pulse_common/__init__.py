"""Plumbing shared by every Pulse service: configuration, logging, database, messaging, gRPC."""
