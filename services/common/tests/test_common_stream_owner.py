"""Stream settings are owned once: ``apply_stream`` (``pulse nats apply``) sets replicas and
limits; a service starting later with defaults (``ensure_stream``) never undoes them."""

from __future__ import annotations

from pulse_common import subjects
from pulse_common.messaging import StreamLimits, apply_stream, connect_nats, ensure_stream


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
