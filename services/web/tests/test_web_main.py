"""``python -m pulse_web``: configuration errors name the variable; the server answers and
stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path

import httpx
from pulse_testing.security import embedded_material
from pulse_testing.web import free_port


async def run_module(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pulse_web",
        env={**os.environ, "PULSE_LOG_FORMAT": "text", **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_bad_configuration_exits_2_naming_the_variable() -> None:
    process = await run_module({"PULSE_WEB_ACCOUNTS": "leader:plain:"})
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert b"PULSE_WEB_ACCOUNTS" in stderr


async def test_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    # The embedded default's material (certificate, credential, session secret), as
    # `pulse dev up` leaves it in the data directory.
    shutil.copytree(embedded_material(), tmp_path, dirs_exist_ok=True)
    # Upstreams on ports where nothing listens: the web serves, but is not ready.
    upstreams = {
        f"PULSE_{name}_ADDR": f"127.0.0.1:{free_port()}"
        for name in ("SURVEY", "RESPONSE", "CORRELATION")
    }
    process = await run_module(
        {"PULSE_WEB_ADDR": f"127.0.0.1:{port}", "PULSE_DATA_DIR": str(tmp_path), **upstreams}
    )
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                try:
                    reply = await http.get(f"http://127.0.0.1:{port}/livez")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("the web front did not start")
            assert reply.text == "ok"
            assert reply.headers["x-content-type-options"] == "nosniff"
            ready = await http.get(f"http://127.0.0.1:{port}/healthz")
            assert ready.status_code == 503
            assert "survey: UNREACHABLE" in ready.text
            login = await http.get(f"http://127.0.0.1:{port}/login")
            assert login.status_code == 200
            css = await http.get(f"http://127.0.0.1:{port}/static/vendor/chart.umd.min.js")
            assert css.status_code == 200
            assert b"Chart.js v4" in css.content[:200]
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=15)
        # uvicorn finishes in-flight work, then re-raises the signal it caught.
        assert process.returncode in (0, -signal.SIGTERM), stderr.decode()
        assert b"Application shutdown complete" in stderr
        assert b"PULSE_WEB_ACCOUNTS is not set" in stderr  # the dev account is announced
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
