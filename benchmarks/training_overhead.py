"""Benchmark: the README's training command vs. a bare script doing the same work.

Times, side by side in one run and alternating so that machine noise hits both equally:
  * ``zenml``: ``zenml pipeline run pipelines.training.training_pipeline -c <config>`` on an
    isolated ZenML store with the ``local`` stack, caching off (every step really runs);
  * ``bare``: ``python benchmarks/bare_training.py`` (no ZenML) logging to its own MLflow
    SQLite database.
Both are whole processes timed by wall clock, imports included, each after one untimed warm-up
(which pays MLflow's one-off schema migrations). Both run in a temporary copy of the checkout
with its own ZenML repository, so the user's `.zen` and stores are never touched. Writes
``benchmarks/results/training_overhead.json`` and prints a Markdown table.

Usage: python benchmarks/training_overhead.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts.isolated_checkout import OFFLINE_ENV, copy_checkout  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "training_overhead.json"


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return elapsed


def _measure(repeats: int, work: Path, env: dict[str, str]) -> dict[str, list[float]]:
    bin_dir = Path(sys.executable).parent
    repo = copy_checkout(work / "repo")
    config = yaml.safe_load((repo / "configs" / "training.yaml").read_text())
    config["enable_cache"] = False
    config_path = work / "training_nocache.yaml"
    config_path.write_text(yaml.safe_dump(config))
    for setup in (
        [str(bin_dir / "zenml"), "init"],
        [str(bin_dir / "python"), "-m", "stacks", "apply", "stacks/local.yaml"],
        [str(bin_dir / "python"), "-m", "scripts.materialize_data"],
    ):
        subprocess.run(setup, cwd=repo, env=env, check=True, capture_output=True)
    zenml_cmd = [
        str(bin_dir / "zenml"),
        "pipeline",
        "run",
        "pipelines.training.training_pipeline",
        "-c",
        str(config_path),
    ]
    bare_cmd = [
        str(bin_dir / "python"),
        "benchmarks/bare_training.py",
        "--tracking-uri",
        f"sqlite:///{work / 'bare-mlflow.db'}",
    ]
    _timed(zenml_cmd, env, repo)
    _timed(bare_cmd, env, repo)
    times: dict[str, list[float]] = {"zenml": [], "bare": []}
    for _ in range(repeats):
        times["zenml"].append(_timed(zenml_cmd, env, repo))
        times["bare"].append(_timed(bare_cmd, env, repo))
    return times


def _report(times: dict[str, list[float]], repeats: int) -> None:
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "benchmark": "training_overhead",
        "command": (
            "zenml pipeline run pipelines.training.training_pipeline "
            "-c configs/training.yaml (cache off)"
        ),
        "repeats": repeats,
        "seconds": times,
        "median_seconds": med,
        "ratio_zenml_over_bare": med["zenml"] / med["bare"],
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "date": time.strftime("%Y-%m-%d"),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print("| variant | median wall time (s) | runs (s) |\n|---|---|---|")
    for k in ("zenml", "bare"):
        print(f"| {k} | {med[k]:.1f} | {', '.join(f'{t:.1f}' for t in times[k])} |")
    print(f"\nratio zenml / bare: {result['ratio_zenml_over_bare']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-training-"))
    env = dict(os.environ)
    env.update(
        {
            "ZENML_CONFIG_PATH": str(work / "zenml"),
            **OFFLINE_ENV,
            # Relative to each command's working directory: the checkout copy.
            "PYTHONPATH": ".",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    try:
        times = _measure(args.repeats, work, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _report(times, args.repeats)


if __name__ == "__main__":
    main()
