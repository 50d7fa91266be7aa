"""The web's settings, parsed once at start-up: the deployment-wide ``Settings`` plus the
web-only ``PULSE_WEB_*`` values, validated with messages naming the variable. This is the
only module of the web that reads the environment."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass

from pulse_common.config import ConfigError, Settings, env_int, load_settings

from pulse_web.accounts import Account, hash_password, parse_accounts

DEV_USERNAME = "leader"
DEV_PASSWORD = "pulse-demo"
MIN_SECRET_CHARS = 32
DEV_ACCOUNT_WARNING = (
    f"PULSE_WEB_ACCOUNTS is not set: using the development account {DEV_USERNAME!r} / "
    f"{DEV_PASSWORD!r} (whole organisation); set PULSE_WEB_ACCOUNTS in any real deployment"
)


@dataclass(frozen=True)
class WebConfig:
    # Deployment-wide settings (addresses, k thresholds, period granularity...).
    settings: Settings
    accounts: Mapping[str, Account]
    session_secret: str
    # Respondent POSTs allowed per client per window.
    submit_rate_limit: int
    submit_rate_window_s: int
    login_rate_limit: int
    # Seconds a viewer's subtree stays cached.
    scope_cache_s: int
    # Send the session cookie only over HTTPS (set when served behind TLS).
    secure_cookies: bool
    # No PULSE_WEB_ACCOUNTS: the development account exists (announced at start-up).
    using_dev_account: bool = False


def derive_session_secret(hmac_secret: str) -> str:
    """A key distinct from the pseudonym key, derived with its own label."""
    return hmac.new(hmac_secret.encode(), b"pulse-web-session-v1", hashlib.sha256).hexdigest()


def load_web_config(
    env: Mapping[str, str] | None = None, *, settings: Settings | None = None
) -> WebConfig:
    """Read and validate the web's variables; ``ConfigError`` names the bad one.

    ``settings``: the deployment-wide part when already read (``python -m pulse_web`` reads
    it first to configure logging; tests pass the addresses of the services they started);
    read from ``env`` otherwise."""
    env = os.environ if env is None else env
    settings = load_settings(env) if settings is None else settings
    raw_accounts = (env.get("PULSE_WEB_ACCOUNTS") or "").strip()
    dev = not raw_accounts
    if dev:
        encoded = hash_password(DEV_PASSWORD, iterations=20_000)
        accounts = {DEV_USERNAME: Account(DEV_USERNAME, encoded, "")}
    else:
        accounts = parse_accounts(raw_accounts)
    secret = (env.get("PULSE_WEB_SESSION_SECRET") or "").strip()
    if secret and len(secret) < MIN_SECRET_CHARS:
        raise ConfigError(
            f"PULSE_WEB_SESSION_SECRET must be at least {MIN_SECRET_CHARS} characters"
        )
    secure = (env.get("PULSE_WEB_SECURE_COOKIES") or "false").strip().lower()
    if secure not in ("true", "false", "1", "0"):
        raise ConfigError(f"PULSE_WEB_SECURE_COOKIES must be true or false, got {secure!r}")
    return WebConfig(
        settings=settings,
        accounts=accounts,
        session_secret=secret or derive_session_secret(settings.hmac_secret),
        submit_rate_limit=env_int(env, "PULSE_WEB_SUBMIT_RATE_LIMIT", 10, 1, 100_000),
        submit_rate_window_s=env_int(env, "PULSE_WEB_SUBMIT_RATE_WINDOW_S", 60, 1, 86_400),
        login_rate_limit=env_int(env, "PULSE_WEB_LOGIN_RATE_LIMIT", 10, 1, 100_000),
        scope_cache_s=env_int(env, "PULSE_WEB_SCOPE_CACHE_S", 30, 0, 3600),
        secure_cookies=secure in ("true", "1"),
        using_dev_account=dev,
    )
