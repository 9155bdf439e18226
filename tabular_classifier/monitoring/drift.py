"""The Evidently report we run, and the JSON drift summary read back from it.

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

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from tabular_classifier.contract import RowContract
from tabular_classifier.monitoring.config import DriftConfig
from tabular_classifier.monitoring.window import REFERENCE_LABEL, REFERENCE_PROBABILITY

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


@dataclass
class ColumnDrift:
    """One column's drift result.

    Attributes:
        column: Column name.
        column_type: ``num`` or ``cat`` (Evidently's names).
        stattest: The test Evidently ran (its display name, e.g. ``K-S p_value``).
        threshold: The test's threshold.
        score: The drift score (a p-value for tests: drift when below the threshold; a distance
            for distances: drift when at or above it).
        drifted: Evidently's verdict.
    """

    column: str
    column_type: str
    stattest: str
    threshold: float
    score: float
    drifted: bool


@dataclass
class DriftSummary:
    """The JSON summary of one monitoring run (the ``drift_summary`` artifact).

    Attributes:
        model_name: The monitored ZenML model.
        model_version: The model version whose predictions and reference were compared.
        status: ``ok`` (no drift), ``drift`` (dataset or prediction drift), or
            ``insufficient_data`` (fewer rows than ``window.min_rows``: no verdict, no report
            metrics).
        window: :class:`~tabular_classifier.monitoring.window.WindowInfo` as a dict.
        reference_rows: Rows of the reference data.
        drift_share: The dataset-drift threshold used.
        dataset_drift: Whether the share of drifted features reached ``drift_share``.
        share_of_drifted_columns: Drifted features / features.
        drifted_columns: Names of drifted features, largest drift first.
        columns: Every feature's :class:`ColumnDrift` as a dict, keyed by column.
        prediction_drift: Whether the predicted probability or positive share drifted.
        prediction: ``{"probability": ColumnDrift, "label": ColumnDrift,
            "positive_share": {"reference", "current"}}``.
        data_quality: ``{"missing_values": {column: share}, "out_of_range": {column: {"share",
            "count", "reference_min", "reference_max"}}, "new_categories": {column: count},
            "all_null": [column, ...]}``, listing only columns with something to report;
            ``all_null`` columns (no value in the current data or the reference) are left out
            of the drift test.
        message: A one-line reading of the result.
    """

    model_name: str
    model_version: str | None
    status: str
    window: dict[str, Any]
    reference_rows: int
    drift_share: float
    dataset_drift: bool = False
    share_of_drifted_columns: float = 0.0
    drifted_columns: list[str] = field(default_factory=list)
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    prediction_drift: bool = False
    prediction: dict[str, Any] = field(default_factory=dict)
    data_quality: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (non-finite floats become None)."""
        return _finite(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftSummary:
        """Inverse of :meth:`to_dict`.

        Raises:
            TypeError: On unknown or missing fields.
        """
        return cls(**data)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _column_drift(result: dict[str, Any]) -> ColumnDrift:
    return ColumnDrift(
        column=str(result["column_name"]),
        column_type=str(result["column_type"]),
        stattest=str(result["stattest_name"]),
        threshold=float(result["stattest_threshold"]),
        score=float(result["drift_score"]),
        drifted=bool(result["drift_detected"]),
    )


def _drift_order(item: ColumnDrift) -> float:
    """Sort key, most drifted first: p-values ascending, distances descending."""
    return item.score if "p_value" in item.stattest else -item.score


def insufficient_data(
    model_name: str,
    model_version: str | None,
    window: dict[str, Any],
    reference_rows: int,
    cfg: DriftConfig,
    min_rows: int,
) -> DriftSummary:
    """The documented "not enough data" result: no drift verdict and no alert.

    Args:
        model_name: The monitored model.
        model_version: Its version, if known.
        window: The window's description.
        reference_rows: Rows of the reference.
        cfg: Drift settings (for ``drift_share``).
        min_rows: The configured minimum.

    Returns:
        A summary with ``status = "insufficient_data"``.
    """
    return DriftSummary(
        model_name=model_name,
        model_version=model_version,
        status="insufficient_data",
        window=window,
        reference_rows=reference_rows,
        drift_share=cfg.drift_share,
        message=_not_enough_message(window, min_rows),
    )


def _not_enough_message(window: dict[str, Any], min_rows: int) -> str:
    """Say how many rows were usable, and why the others were not (matched less skipped)."""
    matched = int(window.get("rows_in_window", 0))
    used = int(window.get("rows_used", matched))
    skipped = int((window.get("skipped") or {}).get("total", 0))
    found = f"{used} usable rows in the window"
    if used != matched or skipped:
        found += f" ({matched} matched, {skipped} skipped: see window_info.skipped)"
    return f"not enough data: {found}, at least {min_rows} needed (window.min_rows); no verdict"


def summarize(
    report: dict[str, Any],
    *,
    model_name: str,
    model_version: str | None,
    window: dict[str, Any],
    reference: pd.DataFrame,
    current: pd.DataFrame,
    positive_label: str,
    cfg: DriftConfig,
    all_null: list[str] | None = None,
) -> DriftSummary:
    """Read the drift summary out of the report's ``as_dict()``.

    Args:
        report: ``Report.as_dict()`` of a report built from :func:`metric_specs`.
        model_name: The monitored model.
        model_version: Its version.
        window: The window's description.
        reference: The reference rows (for the positive share).
        current: The current rows (for the positive share).
        positive_label: The positive class, as text (``prediction_label`` values are text).
        cfg: The drift settings used.
        all_null: Features with no value at all in the current data or the reference, left out
            of the report: recorded as 100 % missing and listed under
            ``data_quality["all_null"]``.

    Returns:
        The summary; ``status`` is ``drift`` when dataset or prediction drift was detected.

    Raises:
        KeyError: If the report lacks the metrics :func:`metric_specs` asks for.
    """
    columns: dict[str, ColumnDrift] = {}
    prediction: dict[str, Any] = {}
    dataset: dict[str, Any] = {}
    quality: dict[str, Any] = {"missing_values": {}, "out_of_range": {}, "new_categories": {}}
    for entry in report["metrics"]:
        name, result = entry["metric"], entry["result"]
        if name == "DatasetDriftMetric":
            dataset = result
        elif name == "DataDriftTable":
            for column, values in result["drift_by_columns"].items():
                columns[column] = _column_drift(values)
        elif name == "ColumnDriftMetric":
            drift = _column_drift(result)
            key = "probability" if drift.column == REFERENCE_PROBABILITY else "label"
            prediction[key] = asdict(drift)
        elif name == "DatasetMissingValuesMetric":
            shares = result["current"]["share_of_missing_values_by_column"]
            quality["missing_values"] = {c: float(s) for c, s in shares.items() if s}
        elif name == "ColumnValueRangeMetric":
            current_range = result["current"]
            outside = int(current_range["number_not_in_range"])
            if outside:
                quality["out_of_range"][result["column_name"]] = {
                    "share": float(current_range["share_not_in_range"]),
                    "count": outside,
                    "reference_min": float(result["left"]),
                    "reference_max": float(result["right"]),
                }
        elif name == "ColumnSummaryMetric":
            new = (result.get("current_characteristics") or {}).get("new_in_current_values_count")
            if new:
                quality["new_categories"][result["column_name"]] = int(new)
    if not dataset or "probability" not in prediction or "label" not in prediction:
        raise KeyError("the report lacks DatasetDriftMetric or a prediction ColumnDriftMetric")
    left_out = list(all_null or [])
    if left_out:
        quality["all_null"] = left_out
        for column in left_out:
            quality["missing_values"][column] = float(current[column].isna().mean())

    positive = str(positive_label)
    prediction["positive_share"] = {
        "reference": float((reference[REFERENCE_LABEL].astype(str) == positive).mean()),
        "current": float((current[REFERENCE_LABEL].astype(str) == positive).mean()),
    }
    drifted = sorted((c for c in columns.values() if c.drifted), key=_drift_order)
    prediction_drift = bool(prediction["probability"]["drifted"] or prediction["label"]["drifted"])
    dataset_drift = bool(dataset["dataset_drift"])
    status = "drift" if dataset_drift or prediction_drift else "ok"
    message = (
        f"{len(drifted)} of {len(columns)} features drifted "
        f"(share {float(dataset['share_of_drifted_columns']):.2f}, dataset drift at "
        f">= {cfg.drift_share}): {'dataset drift' if dataset_drift else 'no dataset drift'}; "
        f"prediction drift: {'yes' if prediction_drift else 'no'} "
        f"(probability score {prediction['probability']['score']:.4g}, "
        f"positive share {prediction['positive_share']['reference']:.2f} -> "
        f"{prediction['positive_share']['current']:.2f})"
    )
    if left_out:
        message += f"; {len(left_out)} all-null column(s) left out of the drift test: " + ", ".join(
            left_out[:10]
        )
    skipped = int((window.get("skipped") or {}).get("total", 0))
    if skipped:
        message += f"; {skipped} unusable log row(s) left out (window.skipped)"
    return DriftSummary(
        model_name=model_name,
        model_version=model_version,
        status=status,
        window=window,
        reference_rows=len(reference),
        drift_share=float(dataset["drift_share"]),
        dataset_drift=dataset_drift,
        share_of_drifted_columns=float(dataset["share_of_drifted_columns"]),
        drifted_columns=[c.column for c in drifted],
        columns={c: asdict(d) for c, d in columns.items()},
        prediction_drift=prediction_drift,
        prediction=prediction,
        data_quality=quality,
        message=message,
    )
