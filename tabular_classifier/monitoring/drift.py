"""The Evidently report we run (the summary read back from it: ``drift_summary``).

The report (Evidently's legacy ``Report`` API, which ZenML's Evidently data validator runs):

- ``DataDriftPreset`` over every feature column: per-column drift (test, threshold, score) and
  dataset drift (share of drifted columns >= ``drift_share``);
- ``ColumnDriftMetric`` on ``prediction_probability`` (prediction drift) and on
  ``prediction_label`` (the share of positive predictions);
- data quality: ``DatasetMissingValuesMetric`` (missing values per column),
  ``ColumnValueRangeMetric`` per numeric feature (values outside the reference's [min, max]) and
  ``ColumnSummaryMetric`` per categorical feature (categories never seen in the reference).

Specs are plain ``(metric class name, parameters)`` pairs, so that a ZenML step can hand them to
``EvidentlyMetricConfig.metric`` and plain code to :func:`build_report`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from tabular_classifier.contract import RowContract
from tabular_classifier.monitoring.config import DriftConfig
from tabular_classifier.monitoring.drift_summary import (
    ColumnDrift,
    DriftSummary,
    insufficient_data,
    summarize,
)
from tabular_classifier.monitoring.window_info import REFERENCE_LABEL, REFERENCE_PROBABILITY

__all__ = [
    "ColumnDrift",
    "DriftInputs",
    "DriftSummary",
    "build_report",
    "column_mapping",
    "drift_inputs",
    "insufficient_data",
    "metric_specs",
    "summarize",
]

MetricSpec = tuple[str, dict[str, Any]]


def metric_specs(
    numeric_features: list[str], categorical_features: list[str], cfg: DriftConfig
) -> list[MetricSpec]:
    """The report's metrics, in order.

    Args:
        numeric_features: Numeric feature columns.
        categorical_features: Categorical feature columns.
        cfg: Tests and thresholds (``None`` values are left to Evidently).

    Returns:
        ``(metric class name, parameters)`` pairs; ``None`` parameters are omitted.
    """

    def clean(params: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in params.items() if v is not None}

    specs: list[MetricSpec] = [
        (
            "DataDriftPreset",
            clean(
                {
                    "columns": [*numeric_features, *categorical_features],
                    "drift_share": cfg.drift_share,
                    "num_stattest": cfg.num_stattest,
                    "cat_stattest": cfg.cat_stattest,
                    "num_stattest_threshold": cfg.num_stattest_threshold,
                    "cat_stattest_threshold": cfg.cat_stattest_threshold,
                }
            ),
        ),
        (
            "ColumnDriftMetric",
            clean(
                {
                    "column_name": REFERENCE_PROBABILITY,
                    "stattest": cfg.prediction_stattest,
                    "stattest_threshold": cfg.prediction_threshold,
                }
            ),
        ),
        (
            "ColumnDriftMetric",
            clean(
                {
                    "column_name": REFERENCE_LABEL,
                    "stattest": cfg.label_stattest,
                    "stattest_threshold": cfg.label_threshold,
                }
            ),
        ),
        ("DatasetMissingValuesMetric", {}),
    ]
    specs += [("ColumnValueRangeMetric", {"column_name": c}) for c in numeric_features]
    specs += [("ColumnSummaryMetric", {"column_name": c}) for c in categorical_features]
    return specs


@dataclass
class DriftInputs:
    """Reference and current data, ready for Evidently, and the columns to test.

    Attributes:
        reference: Reference rows: features in the contract's analysis dtypes, then
            ``prediction_probability`` (float64) and ``prediction_label`` (str).
        current: Current rows, the same columns and dtypes.
        numeric: Numeric features to test.
        categorical: Boolean and categorical features to test.
        all_null: Features with no value at all in either frame: left out of every per-column
            metric (Evidently raises on an empty column) and reported as a data-quality finding.
    """

    reference: pd.DataFrame
    current: pd.DataFrame
    numeric: list[str]
    categorical: list[str]
    all_null: list[str]

    @property
    def tested(self) -> list[str]:
        """The columns handed to Evidently."""
        return [*self.numeric, *self.categorical, REFERENCE_PROBABILITY, REFERENCE_LABEL]


def drift_inputs(
    contract: RowContract, stored_reference: pd.DataFrame, current: pd.DataFrame
) -> DriftInputs:
    """Bring the stored reference and the current window to the same logical dtypes.

    Args:
        contract: The model version's row contract.
        stored_reference: The ``reference_data`` artifact: features, target and predictions
            (older ones hold booleans with ``pd.NA``, which Evidently's legacy drift refuses).
        current: The window from ``read_window`` (already in the analysis dtypes).

    Returns:
        The inputs; ``all_null`` lists the features that cannot be compared.

    Raises:
        InputValidationError: If the stored reference breaks the contract.
    """
    reference = contract.analysis_frame(stored_reference).reset_index(drop=True)
    reference[REFERENCE_PROBABILITY] = (
        stored_reference[REFERENCE_PROBABILITY].astype("float64").to_numpy()
    )
    reference[REFERENCE_LABEL] = stored_reference[REFERENCE_LABEL].astype(str).to_numpy()
    columns = [*contract.names, REFERENCE_PROBABILITY, REFERENCE_LABEL]
    current = current[columns]
    all_null = [c for c in contract.names if current[c].isna().all() or reference[c].isna().all()]
    return DriftInputs(
        reference=reference,
        current=current,
        numeric=[c for c in contract.numeric_features if c not in all_null],
        categorical=[c for c in contract.categorical_features if c not in all_null],
        all_null=all_null,
    )


def column_mapping(numeric_features: list[str], categorical_features: list[str]) -> Any:
    """Evidently's column mapping: features typed explicitly, no target or prediction roles.

    Without it Evidently guesses types and treats columns named ``target``/``prediction`` as
    roles; the predicted probability and label are monitored here as ordinary columns.

    Returns:
        An ``evidently.legacy.pipeline.column_mapping.ColumnMapping``.
    """
    from evidently.legacy.pipeline.column_mapping import ColumnMapping

    return ColumnMapping(
        target=None,
        prediction=None,
        numerical_features=[*numeric_features, REFERENCE_PROBABILITY],
        categorical_features=[*categorical_features, REFERENCE_LABEL],
    )


def build_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    specs: list[MetricSpec],
    numeric_features: list[str],
    categorical_features: list[str],
) -> Any:
    """Run the report with Evidently directly (what ZenML's Evidently data validator does).

    Args:
        reference: Reference rows: features + prediction columns.
        current: Current rows, same columns.
        specs: From :func:`metric_specs`.
        numeric_features: Numeric feature columns.
        categorical_features: Categorical feature columns.

    Returns:
        The computed ``evidently.legacy.report.Report``.
    """
    from evidently.legacy import metric_preset, metrics
    from evidently.legacy.report import Report

    built = [
        getattr(metric_preset if name.endswith("Preset") else metrics, name)(**params)
        for name, params in specs
    ]
    report = Report(metrics=built)
    report.run(
        reference_data=reference,
        current_data=current,
        column_mapping=column_mapping(numeric_features, categorical_features),
    )
    return report
