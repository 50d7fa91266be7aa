"""Stream settings are owned once: ``apply_stream`` (``pulse nats apply``) sets replicas and
limits; a service starting later with defaults (``ensure_stream``) never undoes them."""

from __future__ import annotations

import dataclasses

from nats.js.api import StreamConfig
from pulse_common import subjects
from pulse_common.messaging import (
    StreamLimits,
    apply_stream,
    connect_nats,
    ensure_delivery_stream,
    ensure_stream,
)


async def test_a_later_start_with_defaults_keeps_the_applied_limits(nats_url: str) -> None:
    nc = await connect_nats(nats_url, "test")
    try:
        js = nc.jetstream()
        applied = await apply_stream(js, StreamLimits(max_bytes=50_000_000, max_age_s=86_400))
        assert applied.max_bytes == 50_000_000
        assert applied.max_age == 86_400

        await ensure_stream(js)  # what every service does at start-up

        config = (await js.stream_info(subjects.STREAM)).config
        assert config.max_bytes == 50_000_000
        assert config.max_age == 86_400
        assert config.num_replicas == 1
        assert set(subjects.STREAM_SUBJECTS) <= set(config.subjects or [])

        # The owner may lower its own limits; that is the one way to shrink them.
        lowered = await apply_stream(js, StreamLimits(max_bytes=10_000_000))
        assert lowered.max_bytes == 10_000_000
        assert not lowered.max_age
    finally:
        await nc.close()


async def test_a_start_adds_missing_subjects_without_touching_limits(nats_url: str) -> None:
    nc = await connect_nats(nats_url, "test")
    try:
        js = nc.jetstream()
        await apply_stream(js, StreamLimits(max_bytes=20_000_000))
        info = await js.stream_info(subjects.STREAM)
        older = [s for s in info.config.subjects or [] if s != subjects.STREAM_SUBJECTS[-1]]
        info.config.subjects = older
        await js.update_stream(info.config)

        await ensure_stream(js)

        config = (await js.stream_info(subjects.STREAM)).config
        assert set(subjects.STREAM_SUBJECTS) <= set(config.subjects or [])
        assert config.max_bytes == 20_000_000
    finally:
        await nc.close()


async def test_a_new_stream_gets_a_retention_and_an_operators_limits_survive_restarts(
    nats_url: str,
) -> None:
    """Issue 13: the shared stream has a ``max_age`` from the start; limits an operator
    set by hand (``nats stream edit``: max_msgs, max_bytes, an unlimited age) are kept by
    every later start, and the delivery stream keeps its messages only briefly."""
    nc = await connect_nats(nats_url, "test")
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        await ensure_delivery_stream(js)
        created = (await js.stream_info(subjects.STREAM)).config
        assert created.max_age == subjects.STREAM_MAX_AGE_S
        delivery = (await js.stream_info(subjects.DELIVERY_STREAM)).config
        assert delivery.max_age == subjects.DELIVERY_MAX_AGE_S
        assert delivery.subjects == list(subjects.DELIVERY_STREAM_SUBJECTS)

        # The operator edits the stream directly, not through Pulse.
        edited = dataclasses.replace(created, max_msgs=12_345, max_bytes=7_000_000, max_age=3600)
        await js.update_stream(edited)
        for _ in range(2):  # two service restarts
            await ensure_stream(js, replicas=1)
        kept = (await js.stream_info(subjects.STREAM)).config
        assert (kept.max_msgs, kept.max_bytes, kept.max_age) == (12_345, 7_000_000, 3600)

        # An operator who applied "no age limit" keeps it too.
        await apply_stream(js, StreamLimits(max_bytes=5_000_000))
        await ensure_stream(js)
        applied = (await js.stream_info(subjects.STREAM)).config
        assert not applied.max_age
        assert applied.max_bytes == 5_000_000
    finally:
        await nc.close()


async def test_an_older_stream_without_retention_gets_one(nats_url: str) -> None:
    nc = await connect_nats(nats_url, "test")
    try:
        js = nc.jetstream()
        await js.add_stream(
            StreamConfig(name=subjects.STREAM, subjects=list(subjects.STREAM_SUBJECTS))
        )
        await ensure_stream(js)
        assert (await js.stream_info(subjects.STREAM)).config.max_age == subjects.STREAM_MAX_AGE_S
    finally:
        await nc.close()
