"""The web's settings, parsed once at start-up: the deployment-wide ``Settings`` plus the
web-only ``PULSE_WEB_*`` values, validated with messages naming the variable. This is the
only module of the web that reads the environment."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from pulse_common.config import ConfigError, Settings, env_int, load_settings, resolve_secret
from pulse_common.secrets import WEB_SESSION_SECRET

from pulse_web.accounts import Account, decoy_hash, hash_password, parse_accounts
from pulse_web.client_address import Network, parse_networks

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
    # Respondent POSTs allowed per client address per window (a floor of people may share
    # one NAT address) and per survey link (one person's retries).
    submit_rate_limit: int
    submit_rate_window_s: int
    login_rate_limit: int
    # Seconds a viewer's subtree stays cached.
    scope_cache_s: int
    # Send the session cookie only over HTTPS: the default unless the web listens on
    # loopback only (PULSE_WEB_SECURE_COOKIES overrides).
    secure_cookies: bool
    # No PULSE_WEB_ACCOUNTS: the development account exists (announced at start-up).
    using_dev_account: bool = False
    token_rate_limit: int = 10
    # Sign-in attempts per user name per minute (per address: ``login_rate_limit``).
    login_user_rate_limit: int = 10
    # Proxies whose X-Forwarded-For is believed (PULSE_WEB_TRUSTED_PROXIES).
    trusted_proxies: tuple[Network, ...] = ()
    # Checked for unknown user names, with the accounts' own cost, so that a sign-in takes
    # as long whether or not the user exists.
    decoy_hash: str = ""


def _is_loopback(address: str) -> bool:
    host = address.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    # Always a real secret: the environment's, or the one the embedded setup generated.
    secret = resolve_secret(env, WEB_SESSION_SECRET, settings.data_dir, external=False)
    if not secret:
        raise ConfigError(
            f"{WEB_SESSION_SECRET} is not set: set it to 32+ random characters (there is no "
            "built-in value), or start the embedded stack with `pulse dev up`, which "
            "generates one"
        )
    loopback = _is_loopback(settings.web_addr)
    secure = (env.get("PULSE_WEB_SECURE_COOKIES") or "").strip().lower() or (
        "false" if loopback else "true"
    )
    if secure not in ("true", "false", "1", "0"):
        raise ConfigError(f"PULSE_WEB_SECURE_COOKIES must be true or false, got {secure!r}")
    try:
        proxies = parse_networks(env.get("PULSE_WEB_TRUSTED_PROXIES") or "")
    except ValueError as error:
        raise ConfigError(f"PULSE_WEB_TRUSTED_PROXIES: {error}") from None
    return WebConfig(
        settings=settings,
        accounts=accounts,
        session_secret=secret,
        submit_rate_limit=env_int(env, "PULSE_WEB_SUBMIT_RATE_LIMIT", 600, 1, 1_000_000),
        submit_rate_window_s=env_int(env, "PULSE_WEB_SUBMIT_RATE_WINDOW_S", 60, 1, 86_400),
        login_rate_limit=env_int(env, "PULSE_WEB_LOGIN_RATE_LIMIT", 100, 1, 1_000_000),
        scope_cache_s=env_int(env, "PULSE_WEB_SCOPE_CACHE_S", 30, 0, 3600),
        secure_cookies=secure in ("true", "1"),
        using_dev_account=dev,
        token_rate_limit=env_int(env, "PULSE_WEB_TOKEN_RATE_LIMIT", 10, 1, 10_000),
        login_user_rate_limit=env_int(env, "PULSE_WEB_LOGIN_USER_RATE_LIMIT", 10, 1, 10_000),
        trusted_proxies=proxies,
        decoy_hash=decoy_hash(accounts),
    )
