"""Step: compare the current window with the model version's reference data using Evidently."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from zenml import log_metadata, step
from zenml.client import Client
from zenml.logger import get_logger

from steps.caching import NEVER_CACHE
from steps.monitoring import artifacts
from tabular_classifier.monitoring.config import MonitoringConfig
from tabular_classifier.monitoring.drift import (
    DriftSummary,
    column_mapping,
    drift_inputs,
    insufficient_data,
    metric_specs,
    summarize,
)
from tabular_classifier.monitoring.report import DriftReport
from tabular_classifier.monitoring.window import WindowInfo

logger = get_logger(__name__)


def evidently_validator() -> Any:
    """The active stack's Evidently data validator.

    Raises:
        RuntimeError: If the stack has none (naming the stack and how to add one).
    """
    stack = Client().active_stack
    validator = stack.data_validator
    if validator is None or validator.flavor != "evidently":
        raise RuntimeError(
            f"stack '{stack.name}' has no Evidently data validator; add one "
            "(`data_validator: {name: evidently, flavor: evidently}` in the stack file, then "
            "`python -m stacks apply FILE`)"
        )
    return validator


@step(cache_policy=NEVER_CACHE)
def detect_drift(
    current_window: pd.DataFrame, window_info: WindowInfo, monitoring: MonitoringConfig
) -> tuple[Annotated[DriftReport, "drift_report"], Annotated[DriftSummary, "drift_summary"]]:
    """Run the Evidently drift and data-quality report of the window against the reference.

    The reference is the ``reference_data`` artifact of the model version that made the
    predictions (its training split with the model's predictions), loaded, not recomputed.
    The report runs through the stack's Evidently data validator
    (``EvidentlyDataValidator.data_profiling``, Evidently's legacy ``Report``).

    Args:
        current_window: From ``load_current_window``.
        window_info: Its description.
        monitoring: The ``monitoring`` parameter, validated when the pipeline was compiled
            (see ``configs/monitoring.yaml``).

    Returns:
        The report (Evidently's JSON result and page; the dashboard shows a static view of it)
        and the JSON drift summary; with fewer rows than ``window.min_rows``, a report without
        Evidently's result ("not enough data") and a summary with status ``insufficient_data``
        (never an alert).

    Raises:
        MonitoringError: The model version lacks its reference data.
        RuntimeError: The stack has no Evidently data validator.
    """
    from zenml.integrations.evidently.metrics import EvidentlyMetricConfig

    cfg = monitoring
    version = window_info.model_version
    if len(current_window) < cfg.window.min_rows or version is None:
        summary = insufficient_data(
            cfg.model_name, version, window_info.to_dict(), 0, cfg.drift, cfg.window.min_rows
        )
        logger.warning("%s", summary.message)
        log_metadata(metadata={"status": summary.status})
        return DriftReport(summary=summary), summary

    bundle = artifacts.classifier(cfg.model_name, version)
    inputs = drift_inputs(
        bundle.contract, artifacts.reference_data(cfg.model_name, version), current_window
    )
    specs = metric_specs(inputs.numeric, inputs.categorical, cfg.drift)
    report = evidently_validator().data_profiling(
        dataset=inputs.reference[inputs.tested],
        comparison_dataset=inputs.current[inputs.tested],
        profile_list=[EvidentlyMetricConfig.metric(name, **params) for name, params in specs],
        column_mapping=column_mapping(inputs.numeric, inputs.categorical),
    )
    summary = summarize(
        report.as_dict(),
        model_name=cfg.model_name,
        model_version=version,
        window=window_info.to_dict(),
        reference=inputs.reference,
        current=inputs.current,
        positive_label=str(bundle.schema.positive_label),
        cfg=cfg.drift,
        all_null=inputs.all_null,
    )
    logger.info("Drift: %s", summary.message)
    log_metadata(
        metadata={
            "status": summary.status,
            "dataset_drift": summary.dataset_drift,
            "prediction_drift": summary.prediction_drift,
            "drifted_columns": ", ".join(summary.drifted_columns),
        }
    )
    return DriftReport.from_evidently(report, summary), summary
