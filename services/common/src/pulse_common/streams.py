"""The JetStream streams and who owns their settings: the shared PULSE stream (``pulse.>``)
and the invitation delivery stream PULSE_DELIVERY (``delivery.>``, raw tokens and contacts,
issue 13). A service start creates a missing stream and patches only what Pulse owns;
``apply_stream`` (``pulse nats apply``) is the operator's step and marks the stream as
theirs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig

from pulse_common import subjects

# Marks a stream whose limits an operator applied (``apply_stream``): from then on a
# service start changes nothing of them, not even the retention Pulse would set.
OPERATOR_OWNED = "pulse: limits applied by the operator"


async def _ensure(
    js: JetStreamContext, name: str, wanted: tuple[str, ...], max_age_s: float, replicas: int
) -> None:
    """Create stream ``name`` when missing (file storage, explicit duplicate window,
    ``max_age_s``, ``replicas``). On an existing stream patch only what Pulse owns: add the
    subjects it lacks, raise replicas to ``replicas`` (never lower them), and give it
    ``max_age_s`` when it has no retention and no operator has applied limits. Other
    limits (max_msgs, max_bytes, replicas above ``replicas``, ...) are the operator's."""
    config = StreamConfig(
        name=name,
        subjects=list(wanted),
        storage=StorageType.FILE,
        duplicate_window=subjects.DUPLICATE_WINDOW_S,
        num_replicas=replicas,
        max_age=max_age_s,
    )
    try:
        info = await js.stream_info(name)
    except nats.js.errors.NotFoundError:
        try:
            await js.add_stream(config)
            return
        except nats.js.errors.BadRequestError:
            info = await js.stream_info(name)  # created concurrently
    current = info.config
    missing = [s for s in wanted if s not in (current.subjects or [])]
    no_retention = not current.max_age and current.description != OPERATOR_OWNED
    if not missing and (current.num_replicas or 1) >= replicas and not no_retention:
        return
    await js.update_stream(
        dataclasses.replace(
            current,
            subjects=[*(current.subjects or []), *missing],
            num_replicas=max(current.num_replicas or 1, replicas),
            max_age=max_age_s if no_retention else current.max_age,
        )
    )


async def ensure_stream(js: JetStreamContext, replicas: int = 1) -> None:
    """Create or patch the shared PULSE stream (see ``_ensure``): what every service does
    at start-up. An existing stream's limits are owned by whoever applied them
    (``apply_stream``, ``pulse nats apply``)."""
    await _ensure(
        js, subjects.STREAM, subjects.STREAM_SUBJECTS, subjects.STREAM_MAX_AGE_S, replicas
    )


async def ensure_delivery_stream(js: JetStreamContext, replicas: int = 1) -> None:
    """Create or patch the invitation delivery stream (raw tokens and contacts, kept
    ``DELIVERY_MAX_AGE_S``): only the survey service, which issues and delivers, does."""
    await _ensure(
        js,
        subjects.DELIVERY_STREAM,
        subjects.DELIVERY_STREAM_SUBJECTS,
        subjects.DELIVERY_MAX_AGE_S,
        replicas,
    )


@dataclass(frozen=True)
class StreamLimits:
    """What an operator sets on the PULSE stream (``pulse nats apply``); 0 = unlimited."""

    replicas: int = 1
    max_bytes: int = 0
    max_age_s: float = 0.0


async def apply_stream(js: JetStreamContext, limits: StreamLimits) -> StreamConfig:
    """The owner's step: create the stream or set exactly ``limits`` (also lower ones),
    and mark them as the operator's so that no service start changes them again."""
    await ensure_stream(js, 1)
    info = await js.stream_info(subjects.STREAM)
    config = dataclasses.replace(
        info.config,
        num_replicas=limits.replicas,
        max_bytes=limits.max_bytes or -1,
        max_age=limits.max_age_s or None,
        description=OPERATOR_OWNED,
    )
    updated = await js.update_stream(config)
    return updated.config
