"""Leadership accounts: parsing ``PULSE_WEB_ACCOUNTS`` and checking passwords (pure).

Entry format: ``username:pbkdf2_sha256$iterations$salt_hex$hash_hex:scope_unit_id``, entries
separated by ``;``; an empty scope means the whole organisation."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from pulse_common.config import ConfigError
from pulse_common.fields import is_id

ALGORITHM = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 200_000
MIN_ITERATIONS = 10_000
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
VARIABLE = "PULSE_WEB_ACCOUNTS"


@dataclass(frozen=True)
class Account:
    username: str
    password_hash: str
    # Root of the subtree this leader may see; "" = whole organisation.
    scope_unit_id: str


def hash_password(
    password: str, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None
) -> str:
    """``pbkdf2_sha256$iterations$salt_hex$hash_hex`` for the accounts variable."""
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"{ALGORITHM}${iterations}${salt.hex()}${digest.hex()}"


def _split_hash(encoded: str) -> tuple[int, bytes, bytes]:
    parts = encoded.split("$")
    if len(parts) != 4 or parts[0] != ALGORITHM:
        raise ValueError(f"password hash must look like {ALGORITHM}$iterations$salt$hash")
    if not parts[1].isdigit() or int(parts[1]) < MIN_ITERATIONS:
        raise ValueError(f"iterations must be an integer >= {MIN_ITERATIONS}")
    try:
        salt, digest = bytes.fromhex(parts[2]), bytes.fromhex(parts[3])
    except ValueError:
        raise ValueError("salt and hash must be hexadecimal") from None
    if len(salt) < 8 or len(digest) != 32:
        raise ValueError("salt must be >= 8 bytes and hash 32 bytes")
    return int(parts[1]), salt, digest


def verify_password(password: str, encoded: str) -> bool:
    try:
        iterations, salt, expected = _split_hash(encoded)
    except ValueError:
        return False
    actual = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(actual, expected)


def parse_accounts(raw: str) -> dict[str, Account]:
    """Accounts by username; raises ``ConfigError`` naming the variable and the entry."""
    accounts: dict[str, Account] = {}
    for position, entry in enumerate((e.strip() for e in raw.split(";")), start=1):
        if not entry:
            continue
        parts = entry.split(":")
        if len(parts) != 3:
            raise ConfigError(
                f"{VARIABLE} entry {position} must be username:password_hash:scope_unit_id"
            )
        username, encoded, scope = (p.strip() for p in parts)
        if not USERNAME.match(username):
            raise ConfigError(f"{VARIABLE} entry {position}: bad username {username!r}")
        try:
            _split_hash(encoded)
        except ValueError as error:
            raise ConfigError(f"{VARIABLE} entry {position} ({username}): {error}") from None
        if scope and not is_id(scope):
            raise ConfigError(f"{VARIABLE} entry {position} ({username}): bad scope {scope!r}")
        if username in accounts:
            raise ConfigError(f"{VARIABLE}: username {username!r} appears twice")
        accounts[username] = Account(username, encoded, scope)
    if not accounts:
        raise ConfigError(f"{VARIABLE} is set but holds no account")
    return accounts


def authenticate(
    accounts: Mapping[str, Account], username: str, password: str, decoy: str = ""
) -> Account | None:
    """The account when the password matches. An unknown user name costs the same work
    (``decoy``: a hash with the accounts' iteration count, see ``decoy_hash``), so the time
    a sign-in takes does not tell whether the user exists."""
    account = accounts.get(username)
    if account is None:
        verify_password(password, decoy or decoy_hash(accounts))
        return None
    return account if verify_password(password, account.password_hash) else None


def iterations_of(encoded: str) -> int:
    return _split_hash(encoded)[0]


def decoy_hash(accounts: Mapping[str, Account]) -> str:
    """A hash of nothing anyone knows, as costly as the costliest account's."""
    iterations = max(
        (iterations_of(a.password_hash) for a in accounts.values()), default=DEFAULT_ITERATIONS
    )
    return hash_password(secrets.token_urlsafe(16), iterations=iterations)


def main() -> None:
    """``python -m pulse_web.accounts [username] [scope]``: prompt for a password and print
    an entry for PULSE_WEB_ACCOUNTS."""
    import getpass
    import sys

    username = sys.argv[1] if len(sys.argv) > 1 else "leader"
    scope = sys.argv[2] if len(sys.argv) > 2 else ""
    password = getpass.getpass(f"password for {username}: ")
    if len(password) < 10:
        raise SystemExit("use at least 10 characters")
    print(f"{username}:{hash_password(password)}:{scope}")


if __name__ == "__main__":
    main()
