"""Training with every step in a container (``docker`` stack) against in-process stacks.

Measures, in one run, on the engine ``scripts/docker.sh`` starts (``DOCKER_HOST``, default
``unix:///var/run/tabular-docker.sock``):

1. the pipeline image build (``docker/pipeline.Dockerfile``, the lock's environment): once with
   ``--no-cache`` on a throwaway tag (every layer rebuilt; BuildKit's uv download cache, a
   ``RUN --mount=type=cache``, survives ``--no-cache``, so packages are not downloaded again)
   and once with cached layers, the build every later run pays;
2. the training command (``zenml pipeline run pipelines.training.training_pipeline``, caching
   off so every step runs), wall clock, CLI start-up included, on:
   - ``docker``: the server stack (ZenML server, MLflow server, S3) with the local Docker
     orchestrator: 7 containers, each downloading the code, the data pulled from the DVC remote
     on S3 (``tests/docker/stack_workspace.py`` sets it all up on free ports);
   - ``server``: the same servers and S3, steps in the client's process;
   - ``local``: the embedded ZenML store, local artifact store and SQLite MLflow
     (``stacks/local.yaml``), as ``benchmarks/training_overhead.py`` measures it.

Run from the repository root (about 15 minutes on 2 cores)::

    source scripts/env.sh && .venv/bin/python -m benchmarks.docker_training

Writes ``benchmarks/results/docker_training.json`` and prints the table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import RESULTS_DIR, git_state, load_average, machine_info, write_results
from scripts.isolated_checkout import run_in_checkout
from tests.docker.conftest import Docker
from tests.docker.stack_workspace import (
    CA_BUNDLE,
    LOCAL_BASE_IMAGE,
    LOCAL_UV_IMAGE,
    existing_step_containers,
    stack_workspace,
)

RESULTS = RESULTS_DIR / "docker_training.json"
REPO = Path(__file__).resolve().parents[1]
THROWAWAY_TAG = "docker-data/pipeline-bench:throwaway"
DEFAULT_HOST = "unix:///var/run/tabular-docker.sock"


def _build(docker: Docker, *extra: str) -> float:
    args = [
        "--build-arg",
        f"PYTHON_IMAGE={LOCAL_BASE_IMAGE}",
        "--build-arg",
        f"UV_IMAGE={LOCAL_UV_IMAGE}",
    ]
    if CA_BUNDLE.is_file():
        args += ["--secret", f"id=ca_bundle,src={CA_BUNDLE}"]
    started = time.perf_counter()
    docker(
        "build",
        "--progress=plain",
        *extra,
        "-f",
        str(REPO / "docker" / "pipeline.Dockerfile"),
        "-t",
        THROWAWAY_TAG,
        *args,
        str(REPO),
        timeout=3600,
    )
    return time.perf_counter() - started


def _train(ws: Any, config: Path, stack: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = run_in_checkout(ws.train_args(config, stack), ws.root, env, check=False, timeout=1800)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(
            f"training on {stack} failed:\n{(result.stdout + result.stderr)[-4000:]}"
        )
    return seconds


LABELS = {
    "image_build_no_cache": "pipeline image build, `--no-cache` (uv download cache warm)",
    "image_build_cached": "pipeline image build, cached layers",
    "train_docker": "training, `docker` stack (7 step containers)",
    "train_server": "training, `server` stack (same servers, steps in process)",
    "train_local": "training, `local` stack (embedded store, SQLite MLflow)",
}


def _markdown(result: dict[str, Any]) -> str:
    rows = ["| measurement | wall time (s) |", "|---|---|"]
    rows += [f"| {LABELS[k]} | {v:.1f} |" for k, v in result["seconds"].items()]
    ratios = result["ratios"]
    return "\n".join(rows) + (
        f"\n\nRatio docker / server: {ratios['docker_over_server']:.2f}; "
        f"docker / local: {ratios['docker_over_local']:.2f}."
    )


def main() -> None:
    """Entry point; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.docker_training")
    parser.add_argument("--skip-builds", action="store_true", help="only the training runs")
    args = parser.parse_args()
    host = os.environ.get("DOCKER_HOST", DEFAULT_HOST)
    docker = Docker(host=host, binary="/usr/bin/docker")
    seconds: dict[str, float] = {}
    load = {"start": load_average()}
    if not args.skip_builds:
        try:
            seconds["image_build_no_cache"] = _build(docker, "--no-cache")
            seconds["image_build_cached"] = _build(docker)
        finally:
            docker("rmi", THROWAWAY_TAG, check=False)
        print(f"image builds: {seconds}", flush=True)
    containers_before = existing_step_containers(docker)
    try:
        _train_all(host, seconds)
    finally:
        # The Docker orchestrator leaves its step containers behind: remove this run's.
        for container in existing_step_containers(docker) - containers_before:
            docker("rm", "-f", "-v", container, check=False)
    load["end"] = load_average()
    _write(seconds, load)


def _train_all(host: str, seconds: dict[str, float]) -> None:
    with stack_workspace(host, prefix="bench-docker-training-") as ws:
        config = ws.write_config("bench_training", enable_cache=False)
        seconds["train_docker"] = _train(ws, config, "docker", ws.env)
        print(f"docker: {seconds['train_docker']:.1f} s", flush=True)
        # In process on the same servers: the file must be here (pulled from the local remote).
        ws.run("python", "-m", "scripts.materialize_data")
        seconds["train_server"] = _train(ws, config, "server", ws.env)
        print(f"server: {seconds['train_server']:.1f} s", flush=True)
        local_env = {**ws.env, "ZENML_CONFIG_PATH": str(ws.root.parent / "zenml-local")}
        run_in_checkout(
            ["python", "-m", "stacks", "apply", "stacks/local.yaml"], ws.root, local_env
        )
        seconds["train_local"] = _train(ws, config, "local", env=local_env)
        print(f"local: {seconds['train_local']:.1f} s", flush=True)
        shutil.rmtree(ws.root / "mlruns", ignore_errors=True)


def _write(seconds: dict[str, float], load: dict[str, list[float]]) -> None:
    result: dict[str, Any] = {
        "benchmark": "docker_training",
        "command": (
            "zenml pipeline run pipelines.training.training_pipeline -c configs/training.yaml "
            "(cache off) --stack {docker,server,local}"
        ),
        "seconds": seconds,
        "ratios": {
            "docker_over_server": seconds["train_docker"] / seconds["train_server"],
            "docker_over_local": seconds["train_docker"] / seconds["train_local"],
        },
        "load_average": load,
        "commit": git_state().commit,
        "machine": machine_info("cpus", "python", "platform"),
        "date": time.strftime("%Y-%m-%d"),
    }
    print(write_results(RESULTS, result, _markdown, indent=2))


if __name__ == "__main__":
    main()
