"""Starting processes from the test process without ``fork``.

The suite starts and restarts PostgreSQL, nats-server and services while its own gRPC,
asyncpg and proxy threads are busy. A ``fork`` of such a process runs every library's
at-fork handlers in the child, which now and then crashes it before it reaches ``exec``
(seen: "Check failed: next_worker->state == KICKED", segmentation faults), and the server
silently never starts. ``posix_spawn`` runs no handlers in the child, so every launch here
uses it; what needs ``fork`` itself (``pg_ctl`` as PostgreSQL's own user) runs in a fresh
Python helper that has no threads."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


def spawn(
    argv: Sequence[str],
    env: Mapping[str, str],
    log: Path | None = None,
    *,
    new_session: bool = True,
) -> int:
    """Start ``argv`` (argv[0] an absolute path) with stdin from /dev/null and stdout and
    stderr appended to ``log`` (or inherited); returns the pid."""
    actions: list[tuple[int, ...] | tuple[int, int, str, int, int]] = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)
    ]
    if log is not None:
        actions.append(
            (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        )
        actions.append((os.POSIX_SPAWN_DUP2, 1, 2))
    return os.posix_spawn(argv[0], list(argv), dict(env), file_actions=actions, setsid=new_session)


def wait(pid: int, timeout_s: float) -> int | None:
    """The exit code of child ``pid``, or None if it still runs after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            return None
        time.sleep(0.02)


def run(argv: Sequence[str], env: Mapping[str, str], timeout_s: float) -> tuple[int, str]:
    """Run ``argv`` to its end; (exit code, output). ``TimeoutError`` after ``timeout_s``
    (the process is killed)."""
    with tempfile.NamedTemporaryFile(prefix="pulse-spawn-", suffix=".log", delete=False) as out:
        path = Path(out.name)
    try:
        pid = spawn(argv, env, path, new_session=False)
        code = wait(pid, timeout_s)
        if code is None:
            os.kill(pid, 9)
            wait(pid, 5)
            raise TimeoutError(f"{argv[:4]} did not finish in {timeout_s:.0f} s")
        return code, path.read_text(errors="replace")
    finally:
        path.unlink(missing_ok=True)


def python(
    code: str, *args: str, env: Mapping[str, str] | None = None, timeout_s: float = 120
) -> str:
    """Run ``code`` in a fresh Python (this interpreter) with ``args``; its output, or
    ``RuntimeError`` with it when it fails."""
    status, output = run(
        [sys.executable, "-c", code, *args], env if env is not None else os.environ, timeout_s
    )
    if status != 0:
        raise RuntimeError(f"helper failed ({status}): {output[-3000:]}")
    return output
