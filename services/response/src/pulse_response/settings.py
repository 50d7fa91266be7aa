"""The response service's settings: the shared ``Settings`` plus its own ``PULSE_RESPONSE_*``
limits, read once at start-up and validated with messages that name the variable. Nothing
else in the service reads the environment or ``Settings.extra``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pulse_common.config import Settings, env_int, load_settings


@dataclass(frozen=True)
class ResponseSettings:
    common: Settings
    max_answers: int = 100
    max_comment_chars: int = 2000
    max_request_bytes: int = 64 * 1024
    # Per client_id: the web's hash of the client's real address, which an office behind one
    # NAT address shares (the web also limits each survey link tightly).
    submits_per_minute: int = 600
    max_import_rows: int = 200_000
    import_batch_size: int = 500
    idempotency_days: int = 7
    # Seconds a viewer scope's subtree is reused before asking the survey service again.
    scope_cache_s: int = 30
    # Employee answers are written in batches of at least this many per group (issue 13);
    # 0 = the survey's anonymity threshold k (the default; 1 only for tests and demos).
    answer_batch_k: int = 0
    # Seconds between sweeps of the holding area (closed waves, batches a crash left due).
    answer_sweep_s: int = 30


def load_response_settings(
    env: Mapping[str, str], common: Settings | None = None
) -> ResponseSettings:
    """``common`` is the already parsed shared part (parsed from ``env`` when None). Raise
    ``ConfigError`` naming the variable when one is malformed or out of range."""
    shared = load_settings(env) if common is None else common
    d = ResponseSettings(shared)
    return ResponseSettings(
        common=shared,
        max_answers=env_int(env, "PULSE_RESPONSE_MAX_ANSWERS", d.max_answers, 1, 1000),
        max_comment_chars=env_int(
            env, "PULSE_RESPONSE_MAX_COMMENT_CHARS", d.max_comment_chars, 1, 100_000
        ),
        max_request_bytes=env_int(
            env, "PULSE_RESPONSE_MAX_REQUEST_BYTES", d.max_request_bytes, 1024, 4 * 1024 * 1024
        ),
        submits_per_minute=env_int(
            env, "PULSE_RESPONSE_SUBMITS_PER_MINUTE", d.submits_per_minute, 1, 1_000_000
        ),
        max_import_rows=env_int(
            env, "PULSE_RESPONSE_MAX_IMPORT_ROWS", d.max_import_rows, 1, 10_000_000
        ),
        import_batch_size=env_int(
            env, "PULSE_RESPONSE_IMPORT_BATCH_SIZE", d.import_batch_size, 1, 10_000
        ),
        idempotency_days=env_int(
            env, "PULSE_RESPONSE_IDEMPOTENCY_DAYS", d.idempotency_days, 1, 365
        ),
        scope_cache_s=env_int(env, "PULSE_RESPONSE_SCOPE_CACHE_S", d.scope_cache_s, 0, 3600),
        answer_batch_k=env_int(env, "PULSE_ANSWER_BATCH_K", d.answer_batch_k, 0, 10_000),
        answer_sweep_s=env_int(env, "PULSE_ANSWER_SWEEP_S", d.answer_sweep_s, 1, 86_400),
    )
