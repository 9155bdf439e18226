"""Step: compare the current window with the model version's reference data using Evidently."""

from __future__ import annotations

import html
from typing import Annotated, Any

import pandas as pd
from zenml import log_metadata, step
from zenml.client import Client
from zenml.logger import get_logger
from zenml.types import HTMLString

from steps.caching import NEVER_CACHE
from steps.monitoring import artifacts
from tabular_classifier.monitoring.config import load_monitoring_config
from tabular_classifier.monitoring.drift import (
    DriftSummary,
    column_mapping,
    insufficient_data,
    metric_specs,
    summarize,
)
from tabular_classifier.monitoring.window import REFERENCE_LABEL, REFERENCE_PROBABILITY

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


def _not_enough_data_page(summary: DriftSummary) -> HTMLString:
    return HTMLString(
        "<html><body><h1>Drift report: not enough data</h1>"
        f"<p>{html.escape(summary.message)}</p>"
        f"<p>Model {html.escape(summary.model_name)} version "
        f"{html.escape(str(summary.model_version))}.</p></body></html>"
    )


@step(cache_policy=NEVER_CACHE)
def detect_drift(
    current_window: pd.DataFrame, window_info: dict[str, Any], monitoring: dict[str, Any]
) -> tuple[Annotated[HTMLString, "drift_report"], Annotated[DriftSummary, "drift_summary"]]:
    """Run the Evidently drift and data-quality report of the window against the reference.

    The reference is the ``reference_data`` artifact of the model version that made the
    predictions (its training split with the model's predictions), loaded, not recomputed.
    The report runs through the stack's Evidently data validator
    (``EvidentlyDataValidator.data_profiling``, Evidently's legacy ``Report``).

    Args:
        current_window: From ``load_current_window``.
        window_info: Its description.
        monitoring: The ``monitoring`` parameter.

    Returns:
        The HTML report (the dashboard shows it) and the JSON drift summary; with fewer rows
        than ``window.min_rows``, a "not enough data" page and a summary with status
        ``insufficient_data`` (never an alert).

    Raises:
        MonitoringError: The model version lacks its reference data.
        RuntimeError: The stack has no Evidently data validator.
    """
    from zenml.integrations.evidently.metrics import EvidentlyMetricConfig

    cfg = load_monitoring_config(monitoring, "pipeline parameter 'monitoring'")
    version = window_info.get("model_version")
    if len(current_window) < cfg.window.min_rows or version is None:
        summary = insufficient_data(
            cfg.model_name, version, window_info, 0, cfg.drift, cfg.window.min_rows
        )
        logger.warning("%s", summary.message)
        log_metadata(metadata={"status": summary.status})
        return _not_enough_data_page(summary), summary

    bundle = artifacts.classifier(cfg.model_name, version)
    schema = bundle.schema
    numeric, categorical = list(schema.numeric_features), list(schema.categorical_features)
    columns = [*numeric, *categorical, REFERENCE_PROBABILITY, REFERENCE_LABEL]
    reference = artifacts.reference_data(cfg.model_name, version)[columns].copy()
    reference[REFERENCE_LABEL] = reference[REFERENCE_LABEL].astype(str)
    for column in categorical:
        values = reference[column]
        reference[column] = values.where(values.isna(), values.astype(str))
    current = current_window[columns]

    specs = metric_specs(numeric, categorical, cfg.drift)
    report = evidently_validator().data_profiling(
        dataset=reference,
        comparison_dataset=current,
        profile_list=[EvidentlyMetricConfig.metric(name, **params) for name, params in specs],
        column_mapping=column_mapping(numeric, categorical),
    )
    summary = summarize(
        report.as_dict(),
        model_name=cfg.model_name,
        model_version=version,
        window=window_info,
        reference=reference,
        current=current,
        positive_label=str(schema.positive_label),
        cfg=cfg.drift,
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
    return HTMLString(report.get_html()), summary
