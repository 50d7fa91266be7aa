"""`pulse demo` as a user runs it: a separate process that starts its own embedded stack where
``PULSE_DATA_DIR`` and the ``PULSE_*_ADDR`` addresses say, shows progress as plain lines
while it runs when its output is a pipe, prints the JSON contract with every planted driver,
ends with links that open for the documented leader (signed in over HTTP), keeps the stack
up until Ctrl-C, and then leaves no process and no open port behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from pulse_cli import stack
from pulse_cli.demo.generator import NEGATIVE, POSITIVE
from pulse_common.embedded import free_port, pid_alive, port_open
from pulse_common.measures import TREATMENT_CONSTRUCTS

READY_MARKER = "press Ctrl-C"
PROGRESS_LINE = re.compile(r"^\[\s*\d+\.\d s\] ")
LEADER = ("leader", "pulse-demo")  # README "The live demo"


def signed_in(base_url: str) -> httpx.Client:
    """An HTTP client signed in as the documented leader, as a browser would be."""
    client = httpx.Client(base_url=base_url, follow_redirects=True, timeout=60)
    form = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf, form.text[:500]
    done = client.post(
        "/login", data={"csrf": csrf.group(1), "username": LEADER[0], "password": LEADER[1]}
    )
    assert done.status_code == 200, done.text[:500]
    return client


def check_leader_links(web_url: str, links: dict[str, str]) -> None:
    client = signed_in(web_url)
    try:
        for label, path in links.items():
            page = client.get(path)
            assert page.status_code == 200, (label, path, page.text[:300])
            assert "/login" not in str(page.url), (label, path)
        report = client.get(links["report"])
        assert "Customer satisfaction" in report.text
        # The board shows the praise team leads approved; the comments page shows comments.
        board = client.get(links["recognition board"])
        assert any(text in board.text for text in POSITIVE), board.text[-2000:]
        comments = client.get(links["customer comments"])
        assert any(text in comments.text for text in (*POSITIVE, *NEGATIVE)), comments.text[-2000:]
    finally:
        client.close()


def test_demo_tells_the_story_where_told_and_ctrl_c_leaves_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env["PULSE_DATA_DIR"] = str(tmp_path)
    chosen = {name: f"127.0.0.1:{free_port()}" for name in ("survey", "response", "web")}
    for name, address in chosen.items():
        env[f"PULSE_{name.upper()}_ADDR"] = address
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
    progress_while_running = False
    try:
        while not any(READY_MARKER in line for line in list(stderr_lines)):
            seen = "".join(stderr_lines)
            assert process.poll() is None, f"demo exited early:\n{seen[-3000:]}"
            assert time.monotonic() < deadline, f"demo did not finish:\n{seen[-3000:]}"
            progress_while_running |= any(PROGRESS_LINE.match(line) for line in stderr_lines)
            time.sleep(0.5)
        # The stack the demo started, where PULSE_DATA_DIR says, on the addresses given.
        state = json.loads((tmp_path / "stack.json").read_text())
        for name, address in chosen.items():
            assert state["addresses"][name] == address
        status = subprocess.run(
            [sys.executable, "-m", "pulse_cli", "dev", "status"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert status.returncode == 0, status.stderr
        lines = "".join(stderr_lines)
        links = {
            label.strip(): path
            for label, path in re.findall(
                r"^ {2}(.+?): http://[^/\s]+(/\S*)$", lines, flags=re.MULTILINE
            )
        }
        links["dashboard"] = re.findall(r"^Dashboard: http://[^/\s]+(/\S*)$", lines, re.M)[-1]
        result = json.loads(process.stdout.readline())
        check_leader_links(f"http://{state['addresses']['web']}", links)
        process.send_signal(signal.SIGINT)
        process.stdout.read()
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
            stack.down(tmp_path)
    assert progress_while_running, "no plain progress line before the end"
    assert result["responses_submitted"] > 0
    assert result["responses_counted"] == result["responses_submitted"]
    for key in ("elapsed_s", "report_id", "units_reported", "estimate", "drivers"):
        assert key in result
    drivers = {d["name"]: d for d in result["drivers"]}
    assert set(drivers) == set(TREATMENT_CONSTRUCTS)
    for d in drivers.values():
        assert d["ci_low"] <= d["estimate"] <= d["ci_high"]
        assert d["covered"] == (d["ci_low"] <= d["planted"] <= d["ci_high"])
    # The last lines speak to a leader: the verdict in words, then where to click.
    tail = [line for line in rest.splitlines() if line.strip()]
    assert any(line.startswith("Verdict:") for line in tail)
    assert set(links) >= {"dashboard", "report", "recognition board", "customer comments"}

    pids = [*state["pids"].values(), state["nats_pid"]]
    assert not [pid for pid in pids if pid and pid_alive(pid)], rest
    ports = [int(a.rsplit(":", 1)[1]) for a in state["addresses"].values()]
    ports += [state["nats_port"], state["postgres_port"]]
    assert not [port for port in ports if port and port_open(int(port))]
    assert not (tmp_path / "stack.json").exists()
