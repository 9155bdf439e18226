"""Step: run the training pipeline when the monitoring run found drift (``on_drift: retrain``).

The training run is started through ZenML's Python API (``with_options(config_path=...)``, as
``zenml pipeline run -c`` does), in a child process: a step context is one per process, the
training run's steps must not replace this step's, and a training run that does not finish
within ``retrain.timeout_s`` can be stopped. The child is started with ``spawn`` (no copy of
this process's threads or open store connections).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import yaml
from zenml import get_step_context, log_metadata, step
from zenml.client import Client
from zenml.logger import get_logger
from zenml.utils import source_utils

from steps.caching import NEVER_CACHE
from tabular_classifier.monitoring.config import MonitoringConfig, RetrainConfig
from tabular_classifier.monitoring.outcome import MonitoringOutcome
from tabular_classifier.records import RetrainRun

logger = get_logger(__name__)

RETRAIN_PIPELINE = "pipelines.training.training_pipeline"
_STOP_GRACE_S = 10.0
_LOG_TAIL_CHARS = 8000


def _run_training(root: str, config_path: str, log_path: str) -> None:
    """The child process: run the training pipeline with a run config, output to a file.

    Args:
        root: The source root (the repository root, where ``zenml init`` ran).
        config_path: The training run config (with its ``run_name``).
        log_path: Where the child's stdout and stderr go.
    """
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.chdir(root)
    training = source_utils.load(RETRAIN_PIPELINE)
    training.with_options(config_path=config_path)()


def start_retraining(cfg: RetrainConfig, monitoring_run: str) -> RetrainRun:
    """Run the training pipeline with ``cfg.config_path`` on the active stack and wait for it.

    Args:
        cfg: The training run config and timeout (seconds).
        monitoring_run: This monitoring run's id; the training run's name starts with
            ``training_retrain_<its first 8 characters>_``, so it can be found and recorded.

    Returns:
        The run's name, id and ZenML status, and the child process's exit code. ``run_id`` is
        empty and ``status`` says why when the run could not be started or found.
    """
    root = Path(source_utils.get_source_root())
    config_path = Path(cfg.config_path)
    if not config_path.is_absolute():
        config_path = root / config_path
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    run_name = f"training_retrain_{monitoring_run[:8]}_{stamp}"

    def record(status: str, returncode: int | None = None, run_id: str = "") -> RetrainRun:
        return RetrainRun(
            run_name=run_name,
            run_id=run_id,
            status=status,
            returncode=returncode,
            config_path=cfg.config_path,
        )

    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        return record(f"not started: {config_path}: {exc}")
    config["run_name"] = run_name
    with tempfile.TemporaryDirectory() as tmp:
        run_config = Path(tmp) / "retrain.yaml"
        run_config.write_text(yaml.safe_dump(config), encoding="utf-8")
        log_path = Path(tmp) / "retrain.log"
        child = multiprocessing.get_context("spawn").Process(
            target=_run_training,
            args=(str(root), str(run_config), str(log_path)),
            name=run_name,
        )
        logger.info("Retraining: %s with %s (run %s)", RETRAIN_PIPELINE, cfg.config_path, run_name)
        # The child imports this module by name before it runs: the source root must be on its
        # path (ZenML puts it on this process's path only while it loads a source).
        with source_utils.prepend_python_path(str(root)):
            child.start()
        child.join(cfg.timeout_s)
        if child.is_alive():
            child.terminate()
            child.join(_STOP_GRACE_S)
            if child.is_alive():
                child.kill()
                child.join()
            return record(f"timed out after {cfg.timeout_s} s")
        returncode = child.exitcode
        if returncode != 0 and log_path.exists():
            output = log_path.read_text(encoding="utf-8", errors="replace")
            logger.error("Retraining run failed:\n%s", output[-_LOG_TAIL_CHARS:])
    try:
        run = Client().get_pipeline_run(run_name)
    except KeyError:
        return record("not found after the training process ended", returncode)
    return record(str(run.status.value), returncode, str(run.id))


@step(cache_policy=NEVER_CACHE)
def retrain_on_drift(
    monitoring_outcome: MonitoringOutcome, monitoring: MonitoringConfig
) -> Annotated[RetrainRun, "retraining_run"]:
    """Run the training pipeline if the monitoring outcome found drift.

    The pipeline wires this step in only with ``on_drift: retrain``, after ``send_alerts``
    (it takes the outcome as input), so the alerts are out before training starts.

    Args:
        monitoring_outcome: From ``send_alerts``; its ``drift_status`` decides.
        monitoring: The ``monitoring`` parameter, validated when the pipeline was compiled.

    Returns:
        The training run started (see :func:`start_retraining`), or, without drift, a record
        with an empty ``run_name`` whose status says why none was started. A started run's id
        and name are also this step's ``retrain_run_id`` and ``retrain_run_name`` metadata.

    Raises:
        RuntimeError: If a training run was needed and did not complete, so that a retraining
            that did not happen is not mistaken for one that did.
    """
    if monitoring_outcome.drift_status != "drift":
        retrain = RetrainRun(
            run_name="",
            status=f"not started: drift status {monitoring_outcome.drift_status}",
            config_path=monitoring.retrain.config_path,
        )
        logger.info("No retraining: %s", retrain.status)
        return retrain
    retrain = start_retraining(monitoring.retrain, str(get_step_context().pipeline_run.id))
    level = logging.INFO if retrain.completed else logging.ERROR
    logger.log(level, "Retraining run %s: %s", retrain.run_name, retrain.status)
    log_metadata(metadata={"retrain_run_id": retrain.run_id, "retrain_run_name": retrain.run_name})
    if not retrain.completed:
        raise RuntimeError(
            f"on_drift: retrain: the training run {retrain.run_name} did not complete "
            f"({retrain.status}, exit code {retrain.returncode}); the alerts were sent"
        )
    return retrain
