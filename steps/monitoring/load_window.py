"""Step: read the current data (a window of the prediction log, or a file)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger
from zenml.utils import source_utils

from serving.prediction_log import prediction_log_dir
from steps.caching import NEVER_CACHE
from steps.monitoring import artifacts
from tabular_classifier.errors import ConfigError
from tabular_classifier.monitoring.config import MonitoringConfig, load_monitoring_config
from tabular_classifier.monitoring.health import check_label_values, read_labels
from tabular_classifier.monitoring.window import read_window

logger = get_logger(__name__)


def _check_before_any_work(cfg: MonitoringConfig, version: str | None) -> None:
    """Fail now, not after the report, on what would otherwise fail a later step.

    A later step failing would skip ``send_alerts`` and lose every alert of the window.

    Raises:
        RuntimeError: The stack has no Evidently data validator.
        DataValidationError: The labels file is unreadable, lacks a column, or holds labels
            that are not the model's classes.
        ConfigError: ``retrain.config_path`` does not exist (with ``on_drift: retrain``).
    """
    from steps.monitoring.detect_drift import evidently_validator

    evidently_validator()
    if cfg.degradation.labels_path and version is not None:
        schema = artifacts.classifier(cfg.model_name, version).schema
        labels = read_labels(cfg.degradation)
        check_label_values(labels, schema.positive_label, schema.negative_label, cfg.degradation)
    if cfg.on_drift == "retrain":
        path = Path(cfg.retrain.config_path)
        if not path.is_absolute():
            path = Path(source_utils.get_source_root()) / path
        if not path.is_file():
            raise ConfigError(
                "pipeline parameter 'monitoring'",
                "retrain.config_path",
                f"{path} does not exist (needed by on_drift: retrain)",
            )


@step(cache_policy=NEVER_CACHE)
def load_current_window(
    monitoring: dict[str, Any],
) -> tuple[Annotated[pd.DataFrame, "current_window"], Annotated[dict[str, Any], "window_info"]]:
    """Select and validate the current data for the monitored model version.

    Never cached: the prediction log grows between runs with the same configuration.

    Args:
        monitoring: The ``monitoring`` parameter (see ``configs/monitoring.yaml``).

    Returns:
        The window, shape (rows_used, n_features + 2 or 3): features, ``prediction_probability``
        (float64), ``prediction_label`` (str), ``prediction_id`` when logged; and its
        description (``WindowInfo.to_dict()``: sources, time span, rows, sampling, latency
        percentiles in milliseconds, model version).

    Raises:
        ConfigError: Invalid ``monitoring`` parameter (naming the field).
        DataValidationError: A source lacks a column or holds a wrong type (naming file and
            column).
        MonitoringError: The model version does not exist or lacks its artifacts.
        RuntimeError: The stack has no Evidently data validator.

    The labels file and the retraining config are checked here too, before any work, so that
    a bad one never costs the window's alerts.
    """
    cfg = load_monitoring_config(monitoring, "pipeline parameter 'monitoring'")
    log_dir = Path(cfg.window.log_dir).expanduser() if cfg.window.log_dir else None
    if log_dir is None and not cfg.window.path:
        log_dir = prediction_log_dir()

    def features_for(version: str | None) -> tuple[list[str], list[str]]:
        if version is None:
            if cfg.window.path:
                artifacts.require_version(None, str(cfg.window.path))
            return [], []  # nothing matched: an empty window, judged by min_rows downstream
        schema = artifacts.classifier(cfg.model_name, version).schema
        return list(schema.numeric_features), list(schema.categorical_features)

    window, info = read_window(cfg.window, log_dir or Path("."), features_for, cfg.model_name)
    _check_before_any_work(cfg, info.model_version)
    logger.info(
        "Current window: %d rows (%d used%s) of model %s version %s, %s .. %s, from %d file(s)",
        info.rows_in_window,
        info.rows_used,
        ", sampled" if info.sampled else "",
        cfg.model_name,
        info.model_version,
        info.start,
        info.end,
        len(info.sources),
    )
    log_metadata(
        metadata={
            "rows_in_window": info.rows_in_window,
            "rows_used": info.rows_used,
            "sampled": info.sampled,
            "model_version": str(info.model_version),
        }
    )
    return window, info.to_dict()
