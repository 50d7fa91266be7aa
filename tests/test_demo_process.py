"""`pulse demo` as a user runs it: a separate process that starts its own embedded stack,
prints the JSON contract, keeps the stack up until Ctrl-C, and then leaves no process and no
open port behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from pulse_cli import stack
from pulse_common.embedded import pid_alive, port_open

READY_MARKER = "press Ctrl-C"


def test_demo_counts_everything_and_ctrl_c_leaves_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env["PULSE_DATA_DIR"] = str(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "pulse_cli", "demo", "--size", "tiny", "--seed", "3", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    # Drain stderr continuously in a thread: the demo writes progress there, and a pipe
    # that is read slower than it is written would block the demo.
    stderr_lines: list[str] = []
    stderr_pipe = process.stderr
    reader = threading.Thread(target=lambda: stderr_lines.extend(stderr_pipe), daemon=True)
    reader.start()
    deadline = time.monotonic() + 300
    try:
        while not any(READY_MARKER in line for line in list(stderr_lines)):
            seen = "".join(stderr_lines)
            assert process.poll() is None, f"demo exited early:\n{seen[-3000:]}"
            assert time.monotonic() < deadline, f"demo did not finish:\n{seen[-3000:]}"
            time.sleep(0.5)
        # The stack the demo started, as recorded while it runs.
        state = json.loads((tmp_path / "demo" / "stack.json").read_text())
        process.send_signal(signal.SIGINT)
        stdout = process.stdout.read()
        process.wait(timeout=120)
        reader.join(timeout=10)
        rest = "".join(stderr_lines)[-3000:]
    finally:
        if process.poll() is None:  # a failed run: stop the demo and everything it started
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
            stack.down(tmp_path / "demo")
    result = json.loads(stdout.strip().splitlines()[-1])
    assert result["responses_submitted"] > 0
    assert result["responses_counted"] == result["responses_submitted"]
    for key in (
        "true_latent_r",
        "expected_observed_r",
        "units_reported",
        "units_suppressed",
        "report_id",
        "elapsed_s",
    ):
        assert key in result
    for key in ("r", "ci_low", "ci_high", "disattenuated_r"):
        assert key in result["estimate"]
    assert result["estimate"]["ci_low"] <= result["estimate"]["r"] <= result["estimate"]["ci_high"]

    pids = [*state["pids"].values(), state["nats_pid"]]
    assert not [pid for pid in pids if pid and pid_alive(pid)], rest
    ports = [int(a.rsplit(":", 1)[1]) for a in state["addresses"].values()]
    ports += [state["nats_port"], state["postgres_port"]]
    assert not [port for port in ports if port and port_open(int(port))]
    assert not (tmp_path / "demo" / "stack.json").exists()
