"""Service health per window: latency against the SLO, live quality against the test metrics."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tabular_classifier.errors import DataValidationError
from tabular_classifier.labels import label_key
from tabular_classifier.metrics import compute_metrics
from tabular_classifier.monitoring.config import LIVE_METRICS, DegradationConfig, LatencyConfig


@dataclass
class LatencyCheck:
    """Latency of the window's served requests against the SLO.

    Attributes:
        status: ``ok``, ``breached`` or ``insufficient_data`` (fewer than ``min_requests``).
        percentiles: ``{"n", "p50_ms", "p95_ms", "p99_ms"}`` over the window's served rows.
        slo_ms: The configured limits, e.g. ``{"p99_ms": 250.0}``.
        breaches: ``{"p99_ms": {"observed": 480.2, "limit": 250.0}}`` for each limit exceeded.
        min_requests: The fewest served requests that get a verdict.
    """

    status: str
    percentiles: dict[str, float]
    slo_ms: dict[str, float]
    breaches: dict[str, dict[str, float]] = field(default_factory=dict)
    min_requests: int | None = None


def check_latency(percentiles: dict[str, float], cfg: LatencyConfig) -> LatencyCheck:
    """Compare the window's latency percentiles with the SLO.

    Args:
        percentiles: From ``window_index.latency_percentiles`` (milliseconds).
        cfg: The SLO.

    Returns:
        The verdict; a limit is breached when the observed percentile is strictly above it.
    """
    slo = {
        key: float(limit)
        for key, limit in (("p50_ms", cfg.p50_ms), ("p95_ms", cfg.p95_ms), ("p99_ms", cfg.p99_ms))
        if limit is not None
    }
    if percentiles.get("n", 0) < cfg.min_requests:
        return LatencyCheck("insufficient_data", percentiles, slo, min_requests=cfg.min_requests)
    breaches = {
        key: {"observed": float(percentiles[key]), "limit": limit}
        for key, limit in slo.items()
        if percentiles[key] > limit
    }
    return LatencyCheck(
        "breached" if breaches else "ok", percentiles, slo, breaches, cfg.min_requests
    )


@dataclass
class DegradationCheck:
    """Live quality from ground-truth labels against the model version's test metrics.

    Attributes:
        status: ``ok``, ``degraded``, ``insufficient_data`` or ``not_configured``.
        labelled_rows: Logged predictions of the window that have a label.
        labels_in_file: Labels read (the rest belong to predictions outside the window, or to
            none: unknown ids).
        live: ``{"accuracy", "roc_auc", "precision", "recall"}`` on those rows.
        baseline: The same metrics from the model version's evaluation (``test_*``).
        tolerance: The allowed drop (absolute).
        degraded: ``{"roc_auc": {"live", "baseline", "drop"}}`` for each metric below
            baseline - tolerance.
        labels_path: The labels file.
        min_rows: The fewest labelled predictions that get a verdict.
    """

    status: str
    labelled_rows: int = 0
    labels_in_file: int = 0
    live: dict[str, float] = field(default_factory=dict)
    baseline: dict[str, float] = field(default_factory=dict)
    tolerance: float = 0.0
    degraded: dict[str, dict[str, float]] = field(default_factory=dict)
    labels_path: str | None = None
    min_rows: int | None = None


def read_labels(cfg: DegradationConfig) -> pd.DataFrame:
    """Read the ground-truth labels file.

    Args:
        cfg: Its path and column names (``labels_path`` must be set).

    Returns:
        Columns ``prediction_id`` (str) and ``actual`` (canonical label text), one row per id
        (the last label wins when an id is labelled twice).

    Raises:
        DataValidationError: Naming the file and column when the file is missing, unreadable,
            lacks a column, or has empty ids or labels.
    """
    if cfg.labels_path is None:
        raise ValueError("degradation.labels_path is not set")
    path = Path(cfg.labels_path).expanduser()
    if not path.is_file():
        raise DataValidationError(str(path), None, "labels file does not exist")
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (ValueError, OSError) as exc:
        raise DataValidationError(str(path), None, f"cannot be read: {exc}") from exc
    for column in (cfg.id_column, cfg.label_column):
        if column not in frame.columns:
            raise DataValidationError(
                str(path), column, f"missing (columns: {list(frame.columns)[:10]})"
            )
        if frame[column].isna().any():
            raise DataValidationError(
                str(path), column, f"{int(frame[column].isna().sum())} empty values"
            )
    out = pd.DataFrame(
        {
            "prediction_id": frame[cfg.id_column].astype(str),
            "actual": frame[cfg.label_column].map(label_key),
        }
    )
    return out.drop_duplicates("prediction_id", keep="last").reset_index(drop=True)


def check_label_values(
    labels: pd.DataFrame, positive_label: Any, negative_label: Any, cfg: DegradationConfig
) -> None:
    """Refuse labels that are neither of the model's classes.

    Args:
        labels: From :func:`read_labels`.
        positive_label: The model's positive class.
        negative_label: The model's negative class.
        cfg: Where the labels come from (for the message).

    Raises:
        DataValidationError: Naming the labels file, the column and the unknown values.
    """
    known = {label_key(positive_label), label_key(negative_label)}
    unknown = sorted(set(labels["actual"]) - known)
    if unknown:
        raise DataValidationError(
            str(cfg.labels_path),
            cfg.label_column,
            f"{int((~labels['actual'].isin(known)).sum())} labels are not one of the model's "
            f"classes {sorted(known)}: {unknown[:5]}",
        )


def check_degradation(
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    positive_label: Any,
    decision_threshold: float,
    baseline: dict[str, float],
    cfg: DegradationConfig,
) -> DegradationCheck:
    """Live accuracy, ROC AUC, precision and recall, against the test metrics.

    Args:
        predictions: ``prediction_id``, ``probability`` (float64) of the window's predictions.
        labels: From :func:`read_labels`.
        positive_label: The model's positive class (label values are compared as canonical text).
        decision_threshold: The model's decision threshold (positive when probability >= it).
        baseline: The model version's ``test_accuracy``/``test_roc_auc``/... metrics.
        cfg: Tolerance and minimum rows.

    Returns:
        The verdict. ROC AUC is skipped (NaN, never "degraded") when the labelled rows hold one
        class only. Check the label values first with :func:`check_label_values`.
    """
    joined = predictions.merge(labels, on="prediction_id", how="inner")
    check = DegradationCheck(
        status="insufficient_data",
        labelled_rows=len(joined),
        labels_in_file=len(labels),
        tolerance=cfg.tolerance,
        labels_path=cfg.labels_path,
        min_rows=cfg.min_rows,
        baseline={m: float(baseline[f"test_{m}"]) for m in LIVE_METRICS if f"test_{m}" in baseline},
    )
    if len(joined) < cfg.min_rows:
        return check
    y_true = (joined["actual"] == label_key(positive_label)).to_numpy(np.int64)
    scores = compute_metrics(y_true, joined["probability"].to_numpy(float), decision_threshold)
    check.live = {m: scores[f"test_{m}"] for m in LIVE_METRICS}
    for metric, live in check.live.items():
        base = check.baseline.get(metric)
        if base is None or math.isnan(live):
            continue
        if live < base - cfg.tolerance:
            check.degraded[metric] = {"live": live, "baseline": base, "drop": base - live}
    check.status = "degraded" if check.degraded else "ok"
    return check


@dataclass
class ServiceHealth:
    """The ``service_health`` artifact: latency and degradation checks of one window.

    Attributes:
        model_name: The monitored model.
        model_version: Its version.
        latency: :class:`LatencyCheck` as a dict.
        degradation: :class:`DegradationCheck` as a dict.
    """

    model_name: str
    model_version: str | None
    latency: dict[str, Any]
    degradation: dict[str, Any]

    @classmethod
    def build(
        cls,
        model_name: str,
        model_version: str | None,
        latency: LatencyCheck,
        degradation: DegradationCheck,
    ) -> ServiceHealth:
        """Assemble from the two checks."""
        return cls(model_name, model_version, asdict(latency), asdict(degradation))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (NaN becomes None)."""
        from tabular_classifier.monitoring.drift_summary import json_safe

        return json_safe(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServiceHealth:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)
