"""Benchmark: what the gateway and ``python -m release status`` cost to start, before and now.

Issue 10 asked for no torch in the gateway or in ``release status``, and ``status`` in under
2 s. This measures, for this checkout (``now``) and for commit ``9ebf967`` (``before``, the last
one before the change, exported with ``git archive`` and run with the same venv), each in fresh
processes, alternating the two so that machine noise hits both alike:

* ``import serving.gateway``: wall time and peak resident memory of the process;
* ``python -m release status`` on an empty serving state: wall time and peak resident memory;
* a running gateway (``python -m serving.gateway``): resident memory once it answers ``/health``,
  and the seconds from start to that first answer.

Median of ``--rounds`` (default 3). Writes ``benchmarks/results/lean_serving.json`` and prints a
Markdown table.

Usage: python -m benchmarks.lean_serving   (from the repository root, about 3 minutes)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from scripts.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "lean_serving.json"
BEFORE_COMMIT = "9ebf967"


def _peak_rss_mib(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak resident MiB (VmHWM) of a ``python -c CODE`` process.

    The process prints its own ``/proc/self/status`` as its last act.
    """
    report = "\nprint(open('/proc/self/status').read(), flush=True)"
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command[:-1], command[-1] + report],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    out, _ = process.communicate(timeout=300)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{command} exited {process.returncode}")
    hwm = next(line for line in out.splitlines() if line.startswith("VmHWM:"))
    return elapsed, int(hwm.split()[1]) / 1024


def _gateway(cwd: Path, env: dict[str, str], state: Path) -> tuple[float, float]:
    """Seconds from start to the first /health answer, and resident MiB then."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "serving.gateway", "--port", str(port), "--state-dir", str(state)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            except urllib.error.HTTPError:
                break  # 503: up, nothing deployed
            except OSError:
                time.sleep(0.05)
                continue
            break
        elapsed = time.perf_counter() - started
        status = Path(f"/proc/{process.pid}/status").read_text()
        rss = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        return elapsed, int(rss.split()[1]) / 1024
    finally:
        process.terminate()
        process.wait(timeout=30)


def _measure(tree: Path, env: dict[str, str], state: Path) -> dict[str, tuple[float, float]]:
    import_probe = [sys.executable, "-c", "import serving.gateway"]
    status_probe = [
        sys.executable,
        "-c",
        "import sys, contextlib, io\nfrom release.__main__ import main\n"
        "with contextlib.redirect_stdout(io.StringIO()): main(['status'])",
    ]
    return {
        "import serving.gateway": _peak_rss_mib(import_probe, tree, env),
        "release status": _peak_rss_mib(status_probe, tree, env),
        "gateway up": _gateway(tree, env, state),
    }


def main() -> None:
    """Run the benchmark (see the module docstring)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before_tree = Path(tmp) / "before"
        before_tree.mkdir()
        archive = subprocess.run(
            ["git", "archive", BEFORE_COMMIT], cwd=ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(before_tree)], input=archive, check=True)
        runs: dict[str, list[dict[str, tuple[float, float]]]] = {"before": [], "now": []}
        for _ in range(args.rounds):
            for label, tree in (("before", before_tree), ("now", ROOT)):
                state = Path(tmp) / f"state-{label}"
                state.mkdir(exist_ok=True)
                env = {
                    **os.environ,
                    "PYTHONPATH": str(tree),
                    "TABULAR_SERVING_STATE": str(state),
                    "TABULAR_GATEWAY_PORT": str(free_port()),
                    "ZENML_CONFIG_PATH": str(Path(tmp) / f"zenml-{label}"),
                    "ZENML_ANALYTICS_OPT_IN": "false",
                }
                runs[label].append(_measure(tree, env, state))
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        "rounds": args.rounds,
        "before_commit": BEFORE_COMMIT,
    }
    print("| what | before: s | before: MiB | now: s | now: MiB |")
    print("|---|---|---|---|---|")
    for what in runs["now"][0]:
        cells = {}
        for label in ("before", "now"):
            seconds = statistics.median(run[what][0] for run in runs[label])
            mib = statistics.median(run[what][1] for run in runs[label])
            cells[label] = (round(seconds, 2), round(mib))
        results[what] = {label: {"seconds": s, "mib": m} for label, (s, m) in cells.items()}
        print(
            f"| {what} | {cells['before'][0]} | {cells['before'][1]} | "
            f"{cells['now'][0]} | {cells['now'][1]} |"
        )
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
