"""Benchmark: the README's training command vs. a bare script doing the same work.

Times, side by side in one run and alternating so that machine noise hits both equally:
  * ``zenml``: ``zenml pipeline run pipelines.training.training_pipeline -c <config>`` on an
    isolated ZenML store with the ``local`` stack, caching off (every step really runs);
  * ``bare``: ``python -m benchmarks.bare_training`` (no ZenML) logging to its own MLflow
    SQLite database.
Both are whole processes timed by wall clock, imports included, each after one untimed warm-up
(which pays MLflow's one-off schema migrations). Both run in a temporary copy of the checkout
with its own ZenML repository, so the user's `.zen` and stores are never touched. Writes
``benchmarks/results/training_overhead.json`` and prints a Markdown table.

Usage: python -m benchmarks.training_overhead [--repeats 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.harness import (
    BIN,
    RESULTS_DIR,
    checkout_env,
    machine_info,
    module_command,
    run_timed,
    write_results,
)
from scripts.isolated_checkout import copy_checkout

RESULTS = RESULTS_DIR / "training_overhead.json"


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    return run_timed(cmd, cwd=cwd, env=env, echo=False).seconds


def _measure(repeats: int, work: Path, env: dict[str, str]) -> dict[str, list[float]]:
    repo = copy_checkout(work / "repo")
    config = yaml.safe_load((repo / "configs" / "training.yaml").read_text())
    config["enable_cache"] = False
    config_path = work / "training_nocache.yaml"
    config_path.write_text(yaml.safe_dump(config))
    for setup in (
        [str(BIN / "zenml"), "init"],
        [str(BIN / "python"), "-m", "stacks", "apply", "stacks/local.yaml"],
        [str(BIN / "python"), "-m", "scripts.materialize_data"],
    ):
        run_timed(setup, cwd=repo, env=env, echo=False)
    zenml_cmd = [
        str(BIN / "zenml"),
        "pipeline",
        "run",
        "pipelines.training.training_pipeline",
        "-c",
        str(config_path),
    ]
    bare_cmd = module_command(
        "bare_training", "--tracking-uri", f"sqlite:///{work / 'bare-mlflow.db'}"
    )
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
        "machine": machine_info("cpus", "python", "platform"),
        "date": time.strftime("%Y-%m-%d"),
    }
    write_results(RESULTS, result, indent=2)
    print("| variant | median wall time (s) | runs (s) |\n|---|---|---|")
    for k in ("zenml", "bare"):
        print(f"| {k} | {med[k]:.1f} | {', '.join(f'{t:.1f}' for t in times[k])} |")
    print(f"\nratio zenml / bare: {result['ratio_zenml_over_bare']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-training-"))
    env = checkout_env(work, work / "repo")
    try:
        times = _measure(args.repeats, work, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _report(times, args.repeats)


if __name__ == "__main__":
    main()
