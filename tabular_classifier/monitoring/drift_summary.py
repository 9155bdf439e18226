"""The JSON drift summary read back from an Evidently report: per column, dataset, prediction.

:func:`summarize` reads ``Report.as_dict()`` of the report that
:func:`tabular_classifier.monitoring.drift.metric_specs` describes; :func:`insufficient_data`
stands in for it when the window is too small for a verdict.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from tabular_classifier.monitoring.config import DriftConfig
from tabular_classifier.monitoring.window_info import REFERENCE_LABEL, REFERENCE_PROBABILITY


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
        return json_safe(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftSummary:
        """Inverse of :meth:`to_dict`.

        Raises:
            TypeError: On unknown or missing fields.
        """
        return cls(**data)


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, +-inf), also nested in dicts and lists, as None.

    Strict JSON has no NaN or infinity; monitoring results are written with ``allow_nan=False``.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
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
