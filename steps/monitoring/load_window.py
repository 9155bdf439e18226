"""Step: read the current data (a window of the prediction log, or a file)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger
from zenml.utils import source_utils

from materializers.table_materializer import ParquetTableMaterializer
from serving.prediction_log import prediction_log_dir
from steps.caching import NEVER_CACHE
from steps.monitoring import artifacts
from tabular_classifier.contract import RowContract
from tabular_classifier.errors import ConfigError
from tabular_classifier.monitoring.config import MonitoringConfig
from tabular_classifier.monitoring.health import check_label_values, read_labels
from tabular_classifier.monitoring.window import WindowInfo, read_window

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


@step(cache_policy=NEVER_CACHE, output_materializers={"current_window": ParquetTableMaterializer})
def load_current_window(
    monitoring: MonitoringConfig,
) -> tuple[Annotated[pd.DataFrame, "current_window"], Annotated[WindowInfo, "window_info"]]:
    """Select and validate the current data for the monitored model version.

    Never cached: the prediction log grows between runs with the same configuration.

    Args:
        monitoring: The ``monitoring`` parameter, validated when the pipeline was compiled
            (see ``configs/monitoring.yaml``).

    Returns:
        The window, shape (rows_used, n_features + 2 or 3): features, ``prediction_probability``
        (float64), ``prediction_label`` (str), ``prediction_id`` when logged; and its
        description (:class:`WindowInfo`: sources, time span, rows, sampling, latency
        percentiles in milliseconds, model version, and the log's lines and rows left out
        because they cannot be used, with file and line).

    Raises:
        ConfigError: ``model_name``, ``retrain.config_path`` or ``window.model_version`` names
            nothing that exists.
        DataValidationError: The window file (``window.path``) lacks a column or holds a bad
            row (naming file, column and row). Bad rows of the prediction log are left out and
            reported instead.
        MonitoringError: The model version does not exist or lacks its artifacts.
        RuntimeError: The stack has no Evidently data validator.

    The labels file and the retraining config are checked here too, before any work, so that
    a bad one never costs the window's alerts.
    """
    cfg = monitoring
    artifacts.require_model(cfg.model_name)
    log_dir = Path(cfg.window.log_dir).expanduser() if cfg.window.log_dir else None
    if log_dir is None and not cfg.window.path:
        log_dir = prediction_log_dir()

    def contract_for(version: str | None) -> RowContract | None:
        if version is None:
            if cfg.window.path:
                artifacts.require_version(None, str(cfg.window.path))
            return None  # nothing matched: an empty window, judged by min_rows downstream
        return artifacts.classifier(cfg.model_name, version).contract

    window, info = read_window(cfg.window, log_dir or Path("."), contract_for, cfg.model_name)
    if info.skipped["total"]:
        logger.warning(
            "Left out %d line(s) or row(s) of the prediction log that cannot be used (first: "
            "%s); see window_info.skipped",
            info.skipped["total"],
            info.skipped["examples"][0]["message"],
        )
    _check_before_any_work(cfg, info.model_version)
    if info.rows_in_window == 0:
        logger.info(
            "Current window: no predictions of model %s matched (searched %d file(s))",
            cfg.model_name,
            len(info.sources),
        )
    else:
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
            "model_version": str(info.model_version or ""),
            "skipped_rows": int(info.skipped["total"]),
        }
    )
    return window, info
