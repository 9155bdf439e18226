"""Step: send the alerts the monitoring results call for, then retrain on drift if configured."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import yaml
from zenml import get_step_context, log_metadata, step
from zenml.client import Client
from zenml.logger import get_logger
from zenml.utils import source_utils

from alerters.parameters import alert_parameters
from steps.caching import NEVER_CACHE
from tabular_classifier.monitoring.alerts import (
    Alert,
    degradation_alert,
    drift_alert,
    latency_alert,
)
from tabular_classifier.monitoring.config import MonitoringConfig, RetrainConfig
from tabular_classifier.monitoring.drift import DriftSummary
from tabular_classifier.monitoring.health import ServiceHealth
from tabular_classifier.monitoring.outcome import MonitoringOutcome
from tabular_classifier.monitoring.window import WindowInfo

logger = get_logger(__name__)

RETRAIN_PIPELINE = "pipelines.training.training_pipeline"


def report_location() -> dict[str, str]:
    """Where this run's drift report is: artifact ids and the dashboard path.

    Returns:
        ``{"run_id", "artifact_id", "summary_artifact_id", "dashboard"}``. ``dashboard`` is the
        run's URL when the ZenML store is a server; on the embedded (SQLite) store it is the
        path to open after ``zenml login --local`` (``http://127.0.0.1:8237`` by default).
    """
    from zenml.constants import PROJECTS, RUNS
    from zenml.utils.dashboard_utils import get_run_url

    context = get_step_context()
    run = Client().get_pipeline_run(context.pipeline_run.id)
    location = {"run_id": str(run.id), "artifact_id": "", "summary_artifact_id": ""}
    drift_step = run.steps.get("detect_drift")
    if drift_step is not None:
        outputs = drift_step.outputs
        if outputs.get("drift_report"):
            location["artifact_id"] = str(outputs["drift_report"][0].id)
        if outputs.get("drift_summary"):
            location["summary_artifact_id"] = str(outputs["drift_summary"][0].id)
    url = get_run_url(run)
    location["dashboard"] = url or (
        f"{PROJECTS}/{run.project.name}{RUNS}/{run.id} (step detect_drift, artifact "
        "drift_report; run `zenml login --local` to open the dashboard)"
    )
    return location


def _post(alert: Alert) -> bool:
    """Send one alert through the active stack's alerter; False when it could not be sent."""
    alerter = Client().active_stack.alerter
    if alerter is None:
        logger.error(
            "Stack '%s' has no alerter: alert NOT sent: %s", Client().active_stack.name, alert.title
        )
        return False
    params = alert_parameters(
        alerter, alert.title, alert.severity, {"kind": alert.kind, **alert.details}
    )
    return bool(alerter.post(f"{alert.title}\n{alert.message}", params))


def start_retraining(cfg: RetrainConfig, monitoring_run: str) -> dict[str, Any]:
    """Run the training pipeline with ``cfg.config_path`` and wait for it.

    It runs as ``zenml pipeline run`` in a child process on the active stack, with a run name
    that ties it to the monitoring run, so the started run can be found and recorded.

    Args:
        cfg: The training run config and timeout (seconds).
        monitoring_run: This monitoring run's id.

    Returns:
        ``{"run_name", "run_id", "status", "returncode", "config_path"}``; ``run_id`` is empty
        and ``status`` says why when the run could not be found.
    """
    root = Path(source_utils.get_source_root())
    config_path = Path(cfg.config_path)
    if not config_path.is_absolute():
        config_path = root / config_path
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    run_name = f"training_retrain_{monitoring_run[:8]}_{stamp}"
    outcome: dict[str, Any] = {
        "run_name": run_name,
        "run_id": "",
        "status": "",
        "returncode": None,
        "config_path": str(cfg.config_path),
    }
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        outcome["status"] = f"not started: {config_path}: {exc}"
        return outcome
    config["run_name"] = run_name
    with tempfile.TemporaryDirectory() as tmp:
        run_config = Path(tmp) / "retrain.yaml"
        run_config.write_text(yaml.safe_dump(config), encoding="utf-8")
        # `zenml pipeline run`, with this interpreter (the `zenml` script may not be on PATH).
        command = [sys.executable, "-c", "from zenml.cli import cli; cli()", "pipeline", "run"]
        command += [RETRAIN_PIPELINE, "-c", str(run_config)]
        logger.info("Retraining: %s", " ".join(command))
        try:
            done = subprocess.run(  # noqa: S603 - fixed command, our own pipeline
                command,
                cwd=root,
                env=os.environ.copy(),
                capture_output=True,
                text=True,
                timeout=cfg.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            outcome["status"] = f"timed out after {cfg.timeout_s} s"
            return outcome
    outcome["returncode"] = done.returncode
    if done.returncode != 0:
        logger.error("Retraining run failed:\n%s", done.stdout[-4000:] + done.stderr[-4000:])
    try:
        run = Client().get_pipeline_run(run_name)
    except KeyError:
        outcome["status"] = "not found after the command ended"
        return outcome
    outcome["run_id"] = str(run.id)
    outcome["status"] = str(run.status.value)
    return outcome


@step(cache_policy=NEVER_CACHE)
def send_alerts(
    drift_summary: DriftSummary,
    service_health: ServiceHealth,
    window_info: WindowInfo,
    monitoring: MonitoringConfig,
) -> Annotated[MonitoringOutcome, "monitoring_outcome"]:
    """Send drift, latency and degradation alerts through the stack's alerter; retrain on drift.

    Alerts are sent only for a verdict: ``insufficient_data`` results never alert. With
    ``on_drift: retrain`` a drift alert is followed by a training run (see
    :func:`start_retraining`), recorded in the outcome and in this step's metadata.

    Args:
        drift_summary: From ``detect_drift``.
        service_health: From ``check_service_health``.
        window_info: The window's description.
        monitoring: The ``monitoring`` parameter, validated when the pipeline was compiled
            (see ``configs/monitoring.yaml``).

    Returns:
        Every check's number against its threshold, the alerts sent (with ``delivered``), the
        report location, the retraining record (or None) and the three statuses.
    """
    cfg = monitoring
    report = report_location()
    window = window_info.to_dict()
    candidates = [
        drift_alert(drift_summary, report),
        latency_alert(service_health, window, report),
        degradation_alert(service_health, window, report),
    ]
    sent: list[dict[str, Any]] = []
    for alert in candidates:
        if alert is None:
            continue
        delivered = _post(alert)
        logger.warning("ALERT (%s): %s", alert.kind, alert.title)
        sent.append({**alert.to_dict(), "delivered": delivered})
    retrain = None
    if cfg.on_drift == "retrain" and drift_summary.status == "drift":
        retrain = start_retraining(cfg.retrain, report["run_id"])
        level = logging.INFO if retrain["status"] == "completed" else logging.ERROR
        logger.log(level, "Retraining run %s: %s", retrain["run_name"], retrain["status"])
    outcome = MonitoringOutcome.build(drift_summary, service_health, sent, report, retrain)
    log_metadata(
        metadata={
            "alerts": [a["kind"] for a in sent],
            "retrain_run_id": retrain["run_id"] if retrain else "",
            "retrain_run_name": retrain["run_name"] if retrain else "",
        }
    )
    if not sent:
        logger.info(
            "No alert: drift %s, latency %s, degradation %s",
            outcome.drift_status,
            outcome.latency_status,
            outcome.degradation_status,
        )
    if retrain is not None and retrain["status"] != "completed":
        # The alerts are out; the run still fails, so that a retraining that did not happen
        # is not mistaken for one that did.
        raise RuntimeError(
            f"on_drift: retrain: the training run {retrain['run_name']} did not complete "
            f"({retrain['status']}, exit code {retrain['returncode']}); the alerts were sent"
        )
    return outcome
