"""Run the live demo for several seeds and print the README's seed table.

    .venv/bin/python scripts/demo_seeds.py --seeds 1-20 [--size small] [--jsonl runs.jsonl]
    .venv/bin/python scripts/demo_seeds.py --seeds 1-20 --offline   # generator only

Each seed is a full ``pulse demo --size SIZE --seed N --json --no-wait`` run on its own
embedded stack (a fresh ``PULSE_DATA_DIR`` under a temporary directory), one after the
other. The table shows, per seed, submitted = counted, the teams reported, the wall clock and
each planted driver's report estimate with its 95 % interval (``*`` marks an interval that
misses the planted value); then, per driver, the planted value and in how many seeds the
interval covered it (the issue asks for at least 18 of 20). ``--jsonl`` keeps every run's
JSON line; ``--from-jsonl`` renders the table from such a file without running anything.
``--offline`` computes the same estimates from the generated answers alone
(``pulse_cli.demo.calibrate``): seconds instead of minutes, and what the live report equals
when every answer is counted and the report keeps the same teams.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pulse_cli.demo.calibrate import calibrate, parse_seeds, render
from pulse_cli.demo.config import DemoConfig
from pulse_common.embedded import free_port

Run = dict[str, Any]
DEMO = (sys.executable, "-m", "pulse_cli", "demo")


def run_seed(seed: int, size: str, timeout_s: float, attempts: int = 3) -> Run:
    """``_run_once``, again when the stack could not start (a port taken meanwhile)."""
    for attempt in range(attempts):
        try:
            return _run_once(seed, size, timeout_s)
        except StackDidNotStart:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


class StackDidNotStart(RuntimeError):
    pass


def _run_once(seed: int, size: str, timeout_s: float) -> Run:
    """One demo run in a fresh data directory on free ports; its JSON line (plus the wall
    clock)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    for name in ("SURVEY", "RESPONSE", "CORRELATION", "WEB"):
        env[f"PULSE_{name}_ADDR"] = f"127.0.0.1:{free_port()}"
    with tempfile.TemporaryDirectory(prefix=f"pulse-demo-{seed}-") as data_dir:
        env["PULSE_DATA_DIR"] = data_dir
        started = time.monotonic()
        done = subprocess.run(
            [*DEMO, "--size", size, "--seed", str(seed), "--json", "--no-wait"],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        wall = time.monotonic() - started
    if "could not start the stack" in done.stderr:
        raise StackDidNotStart(done.stderr[-3000:])
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"seed {seed} failed:\n{done.stderr[-3000:]}")
    run: Run = json.loads(done.stdout.strip().splitlines()[-1])
    run["wall_s"] = round(wall, 1)
    return run


def _wall(run: Run) -> float:
    return float(run["wall_s"] if "wall_s" in run else run["elapsed_s"])


def _short(name: str) -> str:
    return name.removeprefix("treatment.")


def table(runs: list[Run]) -> str:
    """The README's table (markdown) of ``runs``."""
    names = [d["name"] for d in runs[0]["drivers"]]
    head = ["seed", "submitted = counted", "teams", "wall"] + [_short(n) for n in names]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run in runs:
        cells = [
            str(run["seed"]),
            f"{run['responses_submitted']:,} = {run['responses_counted']:,}",
            str(run["units_reported"]),
            f"{_wall(run):.0f} s",
        ]
        for d in run["drivers"]:
            if d["estimate"] is None:
                cells.append("n/a")
                continue
            mark = "" if d["covered"] else "*"
            cells.append(f"{d['estimate']:+.2f} [{d['ci_low']:+.2f}, {d['ci_high']:+.2f}]{mark}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| driver | planted r (mean over seeds) | interval covers it |")
    lines.append("|---|---|---|")
    for index, name in enumerate(names):
        planted = [run["drivers"][index]["planted"] for run in runs]
        covered = sum(bool(run["drivers"][index]["covered"]) for run in runs)
        lines.append(
            f"| {_short(name)} | {sum(planted) / len(planted):+.3f} | {covered} of {len(runs)} |"
        )
    walls = [_wall(run) for run in runs]
    lines.append("")
    lines.append(
        f"wall clock per run: median {sorted(walls)[len(walls) // 2]:.0f} s, "
        f"max {max(walls):.0f} s; every run counted what it submitted: "
        f"{all(r['responses_counted'] == r['responses_submitted'] for r in runs)}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--seeds", default="1-20", help="e.g. 1-20 or 1,5,9-12")
    parser.add_argument("--size", default="small")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per run")
    parser.add_argument("--jsonl", type=Path, help="append every run's JSON line here")
    parser.add_argument("--from-jsonl", type=Path, help="render the table of a saved file")
    parser.add_argument("--offline", action="store_true", help="generator only, no services")
    args = parser.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    if args.offline:
        print(render(calibrate(DemoConfig(size=args.size), seeds)))
        return 0
    if args.from_jsonl:
        lines = args.from_jsonl.read_text().splitlines()
        print(table([json.loads(line) for line in lines if line.strip()]))
        return 0
    runs = []
    for seed in seeds:
        run = run_seed(seed, args.size, args.timeout)
        runs.append(run)
        print(f"seed {seed}: {run['wall_s']:.0f} s", file=sys.stderr, flush=True)
        if args.jsonl:
            with args.jsonl.open("a") as out:
                out.write(json.dumps(run) + "\n")
    print(table(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
