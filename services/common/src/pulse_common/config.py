"""``PULSE_*`` configuration, read once at start-up and validated with messages that name
the variable. Services never read ``os.environ`` elsewhere."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pulse_common import secrets
from pulse_common.errors import DomainError


class ConfigError(DomainError):
    """A ``PULSE_*`` variable is missing or malformed; the message names it."""


PeriodGranularity = Literal["month", "week"]

DEFAULT_PORTS = {"survey": 50051, "response": 50052, "correlation": 50053, "web": 8080}


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value.strip() if value is not None and value.strip() != "" else None


def env_int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def env_float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def env_url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    raw = _get(env, name)
    if raw is None:
        return None
    if not raw.startswith(tuple(f"{s}://" for s in schemes)):
        allowed = " or ".join(f"{s}://" for s in schemes)
        raise ConfigError(f"{name} must start with {allowed}, got {raw!r}")
    return raw


def env_urls(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    """A comma-separated list of URLs (e.g. every node of a NATS cluster), each checked."""
    raw = _get(env, name)
    if raw is None:
        return None
    urls = [part.strip() for part in raw.split(",") if part.strip()]
    for url in urls:
        env_url({name: url}, name, schemes)
    return ",".join(urls)


def env_address(env: Mapping[str, str], name: str, default: str) -> str:
    raw = _get(env, name) or default
    host, sep, port = raw.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(f"{name} must be host:port, got {raw!r}")
    return raw


@dataclass(frozen=True)
class TlsSettings:
    """The deployment's TLS material (``PULSE_TLS_*``); empty = the embedded default under
    the data directory (``pulse_common.tls``)."""

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    # Name expected in the servers' certificates when addresses are not in them.
    server_name: str = ""


@dataclass(frozen=True)
class AuthSettings:
    """Caller identity (``pulse_common.auth``): where the trusted signing keys and this
    process's own credential are; empty = the embedded default under the data directory."""

    issuers_file: str = ""
    credential_file: str = ""
    token_ttl_s: int = 300


@dataclass(frozen=True)
class Settings:
    """Deployment-wide settings; every service reads the same variables."""

    database_url: str | None
    nats_url: str | None  # one URL or several, comma-separated (the nodes of a cluster)
    hmac_secret: str
    survey_addr: str
    response_addr: str
    correlation_addr: str
    web_addr: str
    min_group_size: int
    min_comment_group_size: int
    period: PeriodGranularity
    db_statement_timeout_ms: int
    db_lock_timeout_ms: int
    db_pool_max: int
    grpc_deadline_s: float
    shutdown_grace_s: float
    max_deliver: int
    contact_budget_days: int
    deactivation_guard_share: float
    token_ttl_days: int
    stream_replicas: int
    data_dir: str
    log_level: str
    log_json: bool | None = None
    startup_timeout_s: float = 30.0
    # How long JetStream waits for a consumer's ack before it redelivers a message.
    ack_wait_s: float = 30.0
    extra: Mapping[str, str] = field(default_factory=dict)
    tls: TlsSettings = field(default_factory=TlsSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    # This process's NATS user (empty: the embedded default's user of the same name).
    nats_user: str = ""
    nats_password: str = ""
    # Optional plaintext port answering grpc.health.v1 only (probes that cannot do mTLS).
    health_addr: str = ""

    @property
    def nats_servers(self) -> list[str]:
        """Every NATS URL of ``PULSE_NATS_URL`` (empty when unset)."""
        return [url for url in (self.nats_url or "").split(",") if url]

    def address_of(self, service: str) -> str:
        return {
            "survey": self.survey_addr,
            "response": self.response_addr,
            "correlation": self.correlation_addr,
            "web": self.web_addr,
        }[service]


def resolve_secret(env: Mapping[str, str], variable: str, data_dir: str, external: bool) -> str:
    """``variable`` from the environment, else the value the embedded setup generated in
    the data directory. With an external database or NATS and neither, refuse (naming the
    variable); "" when nothing is configured at all (nothing can start then anyway)."""
    value = _get(env, variable)
    if value is not None:
        problem = secrets.secret_problem(variable, value)
        if problem is not None:
            raise ConfigError(problem)
        return value
    stored = secrets.read_generated(data_dir, variable)
    if stored is not None:
        return stored
    if external:
        raise ConfigError(
            f"{variable} is not set: with an external database or NATS (PULSE_DATABASE_URL, "
            f"PULSE_NATS_URL) set it to {secrets.MIN_SECRET_CHARS}+ random characters; "
            "there is no built-in value"
        )
    return ""


def _tls_settings(env: Mapping[str, str]) -> TlsSettings:
    """``PULSE_TLS_DIR`` (ca.crt, tls.crt, tls.key: a Kubernetes TLS Secret with its CA) or
    the three ``PULSE_TLS_*_FILE`` variables, which win over the folder's files."""
    folder = _get(env, "PULSE_TLS_DIR")
    files = {
        "PULSE_TLS_CA_FILE": "ca.crt",
        "PULSE_TLS_CERT_FILE": "tls.crt",
        "PULSE_TLS_KEY_FILE": "tls.key",
    }
    chosen = {
        variable: _get(env, variable) or (f"{folder.rstrip('/')}/{name}" if folder else "")
        for variable, name in files.items()
    }
    given = [variable for variable, value in chosen.items() if value]
    if given and len(given) < len(files):
        missing = next(variable for variable, value in chosen.items() if not value)
        raise ConfigError(f"{missing} must be set too (with {', '.join(given)})")
    return TlsSettings(
        ca_file=chosen["PULSE_TLS_CA_FILE"],
        cert_file=chosen["PULSE_TLS_CERT_FILE"],
        key_file=chosen["PULSE_TLS_KEY_FILE"],
        server_name=_get(env, "PULSE_TLS_SERVER_NAME") or "",
    )


def _nats_password(env: Mapping[str, str]) -> str:
    path = _get(env, "PULSE_NATS_PASSWORD_FILE")
    if path is None:
        return _get(env, "PULSE_NATS_PASSWORD") or ""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError as error:
        raise ConfigError(f"PULSE_NATS_PASSWORD_FILE: cannot read {path}: {error}") from None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every ``PULSE_*`` variable; raise ``ConfigError`` naming the bad one."""
    env = os.environ if env is None else env
    data_dir = _get(env, "PULSE_DATA_DIR") or ".pulse"
    database_url = env_url(env, "PULSE_DATABASE_URL", ("postgresql", "postgres"))
    nats_url = env_urls(env, "PULSE_NATS_URL", ("nats", "tls"))
    external = database_url is not None or nats_url is not None
    secret = resolve_secret(env, secrets.HMAC_SECRET, data_dir, external)
    health_addr = _get(env, "PULSE_HEALTH_ADDR")
    period = (_get(env, "PULSE_PERIOD") or "month").lower()
    if period not in ("month", "week"):
        raise ConfigError(f"PULSE_PERIOD must be 'month' or 'week', got {period!r}")
    level = (_get(env, "PULSE_LOG_LEVEL") or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"PULSE_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    log_format = (_get(env, "PULSE_LOG_FORMAT") or "auto").lower()
    if log_format not in ("auto", "json", "text"):
        raise ConfigError(f"PULSE_LOG_FORMAT must be auto, json or text, got {log_format!r}")
    min_k = env_int(env, "PULSE_MIN_GROUP_SIZE", 5, 3, 1000)
    min_comment_k = env_int(env, "PULSE_MIN_COMMENT_GROUP_SIZE", 10, 3, 1000)
    if min_comment_k < min_k:
        raise ConfigError(
            "PULSE_MIN_COMMENT_GROUP_SIZE must be at least PULSE_MIN_GROUP_SIZE "
            f"({min_comment_k} < {min_k})"
        )
    return Settings(
        database_url=database_url,
        nats_url=nats_url,
        hmac_secret=secret,
        survey_addr=env_address(env, "PULSE_SURVEY_ADDR", f"127.0.0.1:{DEFAULT_PORTS['survey']}"),
        response_addr=env_address(
            env, "PULSE_RESPONSE_ADDR", f"127.0.0.1:{DEFAULT_PORTS['response']}"
        ),
        correlation_addr=env_address(
            env, "PULSE_CORRELATION_ADDR", f"127.0.0.1:{DEFAULT_PORTS['correlation']}"
        ),
        web_addr=env_address(env, "PULSE_WEB_ADDR", f"127.0.0.1:{DEFAULT_PORTS['web']}"),
        min_group_size=min_k,
        min_comment_group_size=min_comment_k,
        period=period,  # type: ignore[arg-type]
        db_statement_timeout_ms=env_int(
            env, "PULSE_DB_STATEMENT_TIMEOUT_MS", 30_000, 100, 3_600_000
        ),
        db_lock_timeout_ms=env_int(env, "PULSE_DB_LOCK_TIMEOUT_MS", 5_000, 10, 600_000),
        db_pool_max=env_int(env, "PULSE_DB_POOL_MAX", 10, 1, 500),
        grpc_deadline_s=env_float(env, "PULSE_GRPC_DEADLINE_S", 10.0, 0.1, 600.0),
        shutdown_grace_s=env_float(env, "PULSE_SHUTDOWN_GRACE_S", 5.0, 0.0, 300.0),
        max_deliver=env_int(env, "PULSE_MAX_DELIVER", 5, 1, 100),
        contact_budget_days=env_int(env, "PULSE_CONTACT_BUDGET_DAYS", 14, 0, 365),
        deactivation_guard_share=env_float(env, "PULSE_DEACTIVATION_GUARD_SHARE", 0.2, 0.0, 1.0),
        token_ttl_days=env_int(env, "PULSE_TOKEN_TTL_DAYS", 14, 1, 365),
        stream_replicas=env_int(env, "PULSE_STREAM_REPLICAS", 1, 1, 5),
        data_dir=data_dir,
        log_level=level,
        log_json=None if log_format == "auto" else log_format == "json",
        startup_timeout_s=env_float(env, "PULSE_STARTUP_TIMEOUT_S", 30.0, 1.0, 600.0),
        ack_wait_s=env_float(env, "PULSE_ACK_WAIT_S", 30.0, 1.0, 3600.0),
        extra={k: v for k, v in env.items() if k.startswith("PULSE_")},
        tls=_tls_settings(env),
        auth=AuthSettings(
            issuers_file=_get(env, "PULSE_AUTH_ISSUERS_FILE") or "",
            credential_file=_get(env, "PULSE_AUTH_CREDENTIAL_FILE") or "",
            token_ttl_s=env_int(env, "PULSE_AUTH_TOKEN_TTL_S", 300, 30, 3600),
        ),
        nats_user=_get(env, "PULSE_NATS_USER") or "",
        nats_password=_nats_password(env),
        health_addr=env_address(env, "PULSE_HEALTH_ADDR", health_addr) if health_addr else "",
    )
