"""Step: latency percentiles against the SLO, and live quality from ground-truth labels."""

from __future__ import annotations

from typing import Annotated

from zenml import log_metadata, step
from zenml.logger import get_logger

from steps.caching import NEVER_CACHE
from steps.monitoring import artifacts
from tabular_classifier.monitoring.config import MonitoringConfig
from tabular_classifier.monitoring.health import (
    DegradationCheck,
    ServiceHealth,
    check_degradation,
    check_latency,
    read_labels,
)
from tabular_classifier.monitoring.window import WindowInfo, read_labelled_predictions

logger = get_logger(__name__)


@step(cache_policy=NEVER_CACHE)
def check_service_health(
    window_info: WindowInfo, monitoring: MonitoringConfig
) -> Annotated[ServiceHealth, "service_health"]:
    """Check the window's latency SLO and, when labels are configured, live model quality.

    Latency percentiles (p50/p95/p99, milliseconds) cover every served request of the window
    (computed while reading it, before any sampling). Degradation joins the labels file to the
    window's logged predictions by prediction id and compares accuracy, ROC AUC, precision and
    recall with the model version's test metrics (from its ``evaluation_report`` artifact).

    Args:
        window_info: From ``load_current_window``.
        monitoring: The ``monitoring`` parameter, validated when the pipeline was compiled
            (see ``configs/monitoring.yaml``).

    Returns:
        Both checks.

    Raises:
        DataValidationError: The labels file is missing, unreadable or lacks a column.
    """
    cfg = monitoring
    latency = check_latency(window_info.latency, cfg.latency)
    degradation = DegradationCheck(status="not_configured", tolerance=cfg.degradation.tolerance)
    if cfg.degradation.labels_path and window_info.model_version is not None:
        # load_current_window already checked the file's columns and label values.
        labels = read_labels(cfg.degradation)
        predictions = read_labelled_predictions(window_info, set(labels["prediction_id"]))
        bundle = artifacts.classifier(cfg.model_name, window_info.model_version)
        degradation = check_degradation(
            predictions,
            labels,
            positive_label=bundle.schema.positive_label,
            decision_threshold=bundle.decision_threshold,
            baseline=artifacts.test_metrics(cfg.model_name, window_info.model_version),
            cfg=cfg.degradation,
        )
    if degradation.labels_in_file and degradation.labelled_rows == 0:
        logger.warning(
            "None of the %d labels in %s matched a prediction of this window (prediction ids "
            "of other windows or unknown)",
            degradation.labels_in_file,
            cfg.degradation.labels_path,
        )
    logger.info("Latency: %s %s", latency.status, latency.percentiles)
    logger.info("Degradation: %s %s", degradation.status, degradation.live)
    log_metadata(
        metadata={"latency_status": latency.status, "degradation_status": degradation.status}
    )
    return ServiceHealth.build(cfg.model_name, window_info.model_version, latency, degradation)
