"""The pipeline variant of ``training_scale.py``: ``zenml pipeline run`` on the synthetic table.

The run happens in a throwaway copy of the checkout (``scripts.isolated_checkout``) with its own
ZenML config directory and the ``local`` stack, caching off, with the bare script's
hyperparameters (``model_config_001`` at batch 1024, 3 epochs, no early stopping, validation
ROC AUC once, at the last epoch). Each run registers a model of its own name, so that promotion
never compares against an earlier run's model (the bare script has nothing to compare with).

A child process (``python -m benchmarks.training_scale_pipeline --child ...``) runs the CLI and
reports: its wall time; its peak RSS (``RUSAGE_CHILDREN``: the local orchestrator runs every step
in the CLI's process); the bytes the run's output artifacts hold, and how much the whole artifact
store grew (MLflow's database and files included); each step's seconds; the train step's
training-loop rows/s (rows x epochs / ``training_seconds``, the metadata the step logs); and
where the wall time went (``phases_s``, from the run's and steps' start and end times in the ZenML
store against the CLI's own start and end):

- ``before_run``: from starting the CLI to ZenML creating the run: the interpreter, imports
  (ZenML, its SQL store, MLflow, torch, scikit-learn, this package), the store, the stack,
  compiling the pipeline and its snapshot;
- ``steps``: the sum of the seven steps' spans (each includes ZenML's and the MLflow experiment
  tracker's per-step preparation and the storing of its outputs);
- ``between_steps``: the run's span less its steps' (the orchestrator's bookkeeping);
- ``after_run``: from the run's end to the CLI's exit.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from scripts.isolated_checkout import OFFLINE_ENV, copy_checkout

MODEL_CONFIG_NAME = "bench_scale.yaml"


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def prepare(work: Path, epochs: int, batch_size: int) -> tuple[Path, dict[str, str]]:
    """Copy the checkout, initialise ZenML there and register the ``local`` stack.

    Returns:
        The checkout copy and the environment to run commands in it with.
    """
    env = {
        **os.environ,
        "ZENML_CONFIG_PATH": str(work / "zenml"),
        **OFFLINE_ENV,
        "PYTHONPATH": ".",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    repo = copy_checkout(work / "repo")
    bin_dir = Path(sys.executable).parent
    for setup in (
        [str(bin_dir / "zenml"), "init"],
        [str(bin_dir / "python"), "-m", "stacks", "apply", "stacks/local.yaml"],
    ):
        subprocess.run(setup, cwd=repo, env=env, check=True, capture_output=True)
    model = yaml.safe_load((repo / "configs/models-configs/model_config_001.yaml").read_text())
    model.update(
        {
            "name": "bench_scale",
            "epochs": epochs,
            "batch_size": batch_size,
            "early_stopping_patience": 0,
            "val_auc_every": epochs,
        }
    )
    (repo / "configs/models-configs" / MODEL_CONFIG_NAME).write_text(yaml.safe_dump(model))
    return repo, env


def write_config(repo: Path, table: Path, model_name: str) -> Path:
    """A run config for ``table`` (target ``target``, positive 1), caching off."""
    config = {
        "enable_cache": False,
        "parameters": {
            "model_name": model_name,
            "model_config_path": f"configs/models-configs/{MODEL_CONFIG_NAME}",
            "data": {"path": str(table), "target": "target", "positive_label": 1},
            "split": {"test_size": 0.2, "val_size": 0.2, "random_state": 42},
            "promotion": {"min_accuracy": 0.5, "min_roc_auc": 0.5},
        },
    }
    path = repo / "configs" / f"bench_{model_name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _utc_now() -> datetime:
    """Now, as the naive UTC datetime the ZenML store records times in."""
    return datetime.now(UTC).replace(tzinfo=None)


def _phases(run: Any, steps_s: float, cli_start: datetime, cli_end: datetime) -> dict[str, float]:
    """Seconds before, inside (steps, between steps) and after the run; they sum to the wall."""
    run_s = (run.end_time - run.start_time).total_seconds()
    return {
        "before_run": (run.start_time - cli_start).total_seconds(),
        "steps": steps_s,
        "between_steps": run_s - steps_s,
        "after_run": (cli_end - run.end_time).total_seconds(),
    }


def _run_details(epochs: int, cli_start: datetime, cli_end: datetime) -> dict[str, Any]:
    from zenml.client import Client

    client = Client()
    run = client.get_pipeline(name_id_or_prefix="training_pipeline").last_run
    if str(run.status) not in ("completed", "ExecutionStatus.COMPLETED"):
        raise RuntimeError(f"run {run.name} is {run.status}")
    artifact_bytes: dict[str, int] = {}
    step_seconds: dict[str, float] = {}
    for name, step in run.steps.items():
        if step.start_time and step.end_time:
            step_seconds[name] = (step.end_time - step.start_time).total_seconds()
        for output, versions in step.outputs.items():
            artifact_bytes[output] = sum(_tree_bytes(Path(v.uri)) for v in versions)
    train_rows = int(run.steps["split_data"].run_metadata["train_rows"])
    training_seconds = float(run.steps["train_model"].run_metadata["training_seconds"])
    return {
        "run": run.name,
        "step_seconds": step_seconds,
        "artifact_bytes": artifact_bytes,
        "n_train": train_rows,
        "train_rows_per_s": epochs * train_rows / training_seconds,
        "training_seconds": training_seconds,
        "test_roc_auc": float(run.steps["evaluate_model"].run_metadata["test_roc_auc"]),
        "store": client.active_stack.artifact_store.path,
        "phases_s": _phases(run, sum(step_seconds.values()), cli_start, cli_end),
    }


def child(config: Path, epochs: int) -> dict[str, Any]:
    """Run the pipeline once (in the checkout copy, the current directory) and measure it."""
    from zenml.client import Client

    store = Path(Client().active_stack.artifact_store.path)
    before = _tree_bytes(store)
    command = [
        str(Path(sys.executable).parent / "zenml"),
        "pipeline",
        "run",
        "pipelines.training.training_pipeline",
        "-c",
        str(config),
    ]
    cli_start, started = _utc_now(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall, cli_end = time.perf_counter() - started, _utc_now()
    if done.returncode != 0:
        raise RuntimeError(f"pipeline failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    details = _run_details(epochs, cli_start, cli_end)
    details["artifact_store_growth_bytes"] = _tree_bytes(store) - before
    details["artifact_bytes_total"] = sum(details["artifact_bytes"].values())
    return {"wall_s": wall, "peak_rss_mb": peak_mb, **details}


def run_child(repo: Path, env: dict[str, str], table: Path, model_name: str, epochs: int) -> Any:
    """One measured pipeline run, in a child process; returns its report."""
    config = write_config(repo, table, model_name)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.training_scale_pipeline",
            "--child",
            str(config),
            str(epochs),
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pipeline child failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=2, metavar=("CONFIG", "EPOCHS"), required=True)
    args = parser.parse_args()
    print(json.dumps(child(Path(args.child[0]), int(args.child[1]))))
