"""Monitoring pipeline: drift, data quality, latency and degradation of a served model version.

Run it with::

    zenml pipeline run pipelines.monitoring.monitoring_pipeline -c configs/monitoring.yaml

It reads a window of the prediction log (what the gateway and batch inference write), compares
it with the ``reference_data`` stored with the model version that made the predictions, and
produces an Evidently HTML report (``drift_report``), a JSON ``drift_summary``, a
``service_health`` check, and alerts through the stack's alerter. With ``on_drift: retrain`` a
last step, ``retrain_on_drift``, then runs the training pipeline on drift and records that run
(``retraining_run``).
"""

from __future__ import annotations

from typing import Any

from pipelines.checked_pipeline import checked_pipeline
from pipelines.docker_settings import DOCKER_SETTINGS
from steps.monitoring.check_health import check_service_health
from steps.monitoring.detect_drift import detect_drift
from steps.monitoring.load_window import load_current_window
from steps.monitoring.notify import send_alerts
from steps.monitoring.retrain import retrain_on_drift
from tabular_classifier.config_files import parameter_source
from tabular_classifier.monitoring.config import load_monitoring_config


@checked_pipeline(
    name="monitoring_pipeline", enable_cache=False, settings={"docker": DOCKER_SETTINGS}
)
def monitoring_pipeline(monitoring: dict[str, Any]) -> None:
    """Monitor one window of predictions.

    Args:
        monitoring: See ``configs/monitoring.yaml`` and
            ``tabular_classifier.monitoring.config.MonitoringConfig``. Validated here, once,
            when the pipeline is compiled: a bad field fails before any step runs, and every
            step receives the typed :class:`MonitoringConfig`.

    Raises:
        ConfigError: Naming the parameter and the offending field (dotted path).
    """
    cfg = load_monitoring_config(monitoring, parameter_source("monitoring"))
    window, info = load_current_window(monitoring=cfg)
    _report, summary = detect_drift(current_window=window, window_info=info, monitoring=cfg)
    health = check_service_health(window_info=info, monitoring=cfg)
    outcome = send_alerts(drift_summary=summary, service_health=health, window_info=info)
    if cfg.on_drift == "retrain":
        retrain_on_drift(monitoring_outcome=outcome, monitoring=cfg)
