"""Step: send the alerts the monitoring results call for (retraining: ``retrain.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from zenml import get_step_context, log_metadata, step
from zenml.client import Client
from zenml.logger import get_logger

from alerters.parameters import alert_parameters
from steps.caching import NEVER_CACHE
from tabular_classifier.monitoring.alerts import (
    Alert,
    degradation_alert,
    drift_alert,
    latency_alert,
)
from tabular_classifier.monitoring.drift import DriftSummary
from tabular_classifier.monitoring.health import ServiceHealth
from tabular_classifier.monitoring.outcome import MonitoringOutcome
from tabular_classifier.monitoring.window import WindowInfo

logger = get_logger(__name__)


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


@step(cache_policy=NEVER_CACHE)
def send_alerts(
    drift_summary: DriftSummary,
    service_health: ServiceHealth,
    window_info: WindowInfo,
) -> Annotated[MonitoringOutcome, "monitoring_outcome"]:
    """Send drift, latency and degradation alerts through the stack's alerter.

    Alerts are sent only for a verdict: ``insufficient_data`` results never alert. With
    ``on_drift: retrain`` the pipeline then runs ``retrain_on_drift`` on the outcome.

    Args:
        drift_summary: From ``detect_drift``.
        service_health: From ``check_service_health``.
        window_info: The window's description.

    Returns:
        Every check's number against its threshold, the alerts sent (with ``delivered``), the
        report location and the three statuses (``retrain`` is None: the retraining run is
        the ``retraining_run`` artifact of ``retrain_on_drift``).
    """
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
    outcome = MonitoringOutcome.build(drift_summary, service_health, sent, report, None)
    log_metadata(metadata={"alerts": [a["kind"] for a in sent]})
    if not sent:
        logger.info(
            "No alert: drift %s, latency %s, degradation %s",
            outcome.drift_status,
            outcome.latency_status,
            outcome.degradation_status,
        )
    return outcome
