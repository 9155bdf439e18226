"""Drift summary, health checks and alert text, computed with real Evidently on real shapes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from tabular_classifier.errors import DataValidationError
from tabular_classifier.monitoring.alerts import degradation_alert, drift_alert, latency_alert
from tabular_classifier.monitoring.config import (
    DegradationConfig,
    DriftConfig,
    LatencyConfig,
)
from tabular_classifier.monitoring.drift import (
    DriftSummary,
    build_report,
    insufficient_data,
    metric_specs,
    summarize,
)
from tabular_classifier.monitoring.health import (
    ServiceHealth,
    check_degradation,
    check_latency,
    read_labels,
)

NUMERIC = [f"x{i}" for i in range(8)]
CATEGORICAL = ["colour"]
REPORT = {"artifact_id": "abc-123", "dashboard": "/projects/default/runs/r1", "run_id": "r1"}
WINDOW = {"rows_in_window": 2000, "rows_used": 2000, "start": "s", "end": "e", "sampled": False}


def _frame(
    n: int, seed: int, shift: dict[str, float] | None = None, flip: bool = False
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({c: rng.normal(0, 1, n) for c in NUMERIC})
    for column, delta in (shift or {}).items():
        frame[column] += delta
    frame["colour"] = rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])
    logits = frame["x0"] - frame["x1"]
    proba = 1 / (1 + np.exp(-logits))
    # flip: a model (or a bug) that pushes every score up, on unchanged features
    frame["prediction_probability"] = proba**0.25 if flip else proba
    frame["prediction_label"] = np.where(frame["prediction_probability"] >= 0.5, "1", "0")
    return frame


def _summary(current: pd.DataFrame, reference: pd.DataFrame, cfg: DriftConfig) -> DriftSummary:
    specs = metric_specs(NUMERIC, CATEGORICAL, cfg)
    report = build_report(reference, current, specs, NUMERIC, CATEGORICAL)
    return summarize(
        report.as_dict(),
        model_name="m",
        model_version="7",
        window=WINDOW,
        reference=reference,
        current=current,
        positive_label="1",
        cfg=cfg,
    )


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return _frame(3000, seed=1)


def test_same_distribution_is_no_drift(reference: pd.DataFrame) -> None:
    summary = _summary(_frame(2000, seed=2), reference, DriftConfig())
    assert summary.status == "ok" and not summary.drifted_columns
    # reference > 1000 rows: Evidently's defaults are Wasserstein / Jensen-Shannon at 0.1
    assert summary.columns["x3"]["stattest"].startswith("Wasserstein")
    assert summary.columns["colour"]["stattest"].startswith("Jensen-Shannon")
    assert summary.columns["x3"]["threshold"] == 0.1
    assert drift_alert(summary, REPORT) is None
    assert set(summary.to_dict()) >= {"columns", "prediction", "dataset_drift", "model_version"}


def test_two_shifted_columns_are_named(reference: pd.DataFrame) -> None:
    current = _frame(2000, seed=3, shift={"x4": 1.0, "x6": 0.6})
    summary = _summary(current, reference, DriftConfig(drift_share=0.2))
    assert summary.drifted_columns == ["x4", "x6"]  # largest distance first
    assert summary.dataset_drift and not summary.prediction_drift
    alert = drift_alert(summary, REPORT)
    assert alert is not None and alert.kind == "drift"
    assert "x4 (" in alert.message and "x6 (" in alert.message
    assert "abc-123" in alert.message and "/projects/default/runs/r1" in alert.message
    assert "version 7" in alert.message and "2000 predictions" in alert.message
    assert [d["column"] for d in alert.details["drifted_columns"]] == ["x4", "x6"]


def test_prediction_drift_only(reference: pd.DataFrame) -> None:
    summary = _summary(_frame(2000, seed=4, flip=True), reference, DriftConfig())
    assert summary.prediction_drift and not summary.dataset_drift
    assert summary.drifted_columns == []
    alert = drift_alert(summary, REPORT)
    assert alert is not None and alert.title.endswith("prediction drift")
    assert f"{summary.prediction['probability']['score']:.4g}" in alert.message


def test_configured_test_and_threshold_are_used(reference: pd.DataFrame) -> None:
    cfg = DriftConfig(
        num_stattest="psi",
        num_stattest_threshold=0.2,
        prediction_stattest="ks",
        prediction_threshold=0.01,
    )
    summary = _summary(_frame(2000, seed=2), reference, cfg)
    assert summary.columns["x0"]["stattest"].startswith("PSI")
    assert summary.columns["x0"]["threshold"] == 0.2
    assert summary.prediction["probability"]["threshold"] == 0.01


def test_data_quality_missing_out_of_range_new_category(reference: pd.DataFrame) -> None:
    current = _frame(2000, seed=5)
    current.loc[:99, "x2"] = np.nan
    current.loc[100:104, "x5"] = 50.0
    current.loc[200:209, "colour"] = "purple"
    summary = _summary(current, reference, DriftConfig())
    quality = summary.data_quality
    assert quality["missing_values"]["x2"] == pytest.approx(0.05)
    lo, hi = reference["x5"].min(), reference["x5"].max()
    natural = int(((current["x5"] < lo) | (current["x5"] > hi)).drop(index=range(100, 105)).sum())
    assert quality["out_of_range"]["x5"]["count"] == 5 + natural
    assert quality["new_categories"] == {"colour": 1}


def test_insufficient_data_never_alerts() -> None:
    summary = insufficient_data("m", "1", {"rows_in_window": 3}, 0, DriftConfig(), 50)
    assert summary.status == "insufficient_data" and "at least 50" in summary.message
    assert drift_alert(summary, REPORT) is None


def test_latency_slo() -> None:
    stats = {"n": 100, "p50_ms": 8.0, "p95_ms": 90.0, "p99_ms": 400.0}
    check = check_latency(stats, LatencyConfig(p95_ms=100, p99_ms=250))
    assert check.status == "breached" and set(check.breaches) == {"p99_ms"}
    health = ServiceHealth.build(
        "m",
        "7",
        check,
        check_degradation(
            pd.DataFrame({"prediction_id": [], "probability": []}),
            pd.DataFrame({"prediction_id": [], "actual": []}),
            positive_label=1,
            decision_threshold=0.5,
            baseline={},
            cfg=DegradationConfig(),
        ),
    )
    alert = latency_alert(health, WINDOW, REPORT)
    assert alert is not None and "p99 400.0 ms > 250.0 ms" in alert.message
    assert check_latency({"n": 5, "p99_ms": 900.0}, LatencyConfig()).status == "insufficient_data"


def test_degradation_from_labels(tmp_path) -> None:
    rng = np.random.default_rng(0)
    ids = [f"id{i}" for i in range(200)]
    truth = rng.integers(0, 2, 200)
    # a model right 70 % of the time
    right = rng.random(200) < 0.7
    proba = np.where(right == (truth == 1), 0.9, 0.1)
    predictions = pd.DataFrame({"prediction_id": ids, "probability": proba})
    pd.DataFrame({"prediction_id": ids, "actual": truth}).to_csv(tmp_path / "l.csv", index=False)
    labels = read_labels(DegradationConfig(labels_path=str(tmp_path / "l.csv")))
    baseline = {
        "test_accuracy": 0.97,
        "test_roc_auc": 0.99,
        "test_precision": 0.96,
        "test_recall": 0.98,
    }
    check = check_degradation(
        predictions,
        labels,
        positive_label=1,
        decision_threshold=0.5,
        baseline=baseline,
        cfg=DegradationConfig(tolerance=0.05),
    )
    assert check.status == "degraded" and check.labelled_rows == 200
    assert check.live["accuracy"] == pytest.approx(right.mean())
    assert set(check.degraded) == {"accuracy", "roc_auc", "precision", "recall"}
    health = ServiceHealth.build("m", "7", check_latency({"n": 0}, LatencyConfig()), check)
    alert = degradation_alert(health, WINDOW, REPORT)
    assert alert is not None and alert.severity == "critical"
    assert f"accuracy {right.mean():.3f} (test 0.970" in alert.message


def test_labels_file_errors_name_the_column(tmp_path) -> None:
    pd.DataFrame({"prediction_id": ["a"], "truth": [1]}).to_csv(tmp_path / "l.csv", index=False)
    with pytest.raises(DataValidationError) as err:
        read_labels(DegradationConfig(labels_path=str(tmp_path / "l.csv")))
    assert err.value.column == "actual"


def test_unknown_label_values_are_refused(tmp_path) -> None:
    from tabular_classifier.monitoring.health import check_label_values

    pd.DataFrame({"prediction_id": ["a", "b"], "actual": ["1", "maybe"]}).to_csv(
        tmp_path / "l.csv", index=False
    )
    cfg = DegradationConfig(labels_path=str(tmp_path / "l.csv"))
    with pytest.raises(DataValidationError, match="maybe") as err:
        check_label_values(read_labels(cfg), 1, 0, cfg)
    assert err.value.column == "actual" and err.value.source == str(tmp_path / "l.csv")


@pytest.mark.parametrize("written_by", ["older_versions", "reference_predictions"])
def test_booleans_categories_and_an_all_null_column_through_evidently(
    core_mixed_model: Any, written_by: str
) -> None:
    """Issue 9, cases 1 and 5: a boolean reference with pd.NA and an all-null window column.

    Both kinds of stored reference parse: the training split's own dtypes (older versions) and
    what ``evaluate_model`` writes now (``reference_predictions``: logical dtypes)."""
    from tabular_classifier.evaluation import reference_predictions
    from tabular_classifier.monitoring.drift import drift_inputs
    from tabular_classifier.predictor import Predictor

    predictor = Predictor(core_mixed_model.bundle)
    contract = core_mixed_model.bundle.contract
    schema = core_mixed_model.schema
    if written_by == "older_versions":
        stored = core_mixed_model.train[[*contract.names, schema.target]].copy()
        proba = predictor.predict_proba(stored)
        stored["prediction_probability"] = proba
        stored["prediction_label"] = predictor.labels(proba)
    else:
        stored = reference_predictions(predictor, core_mixed_model.train, schema)
    assert str(stored["is_member"].dtype) == "boolean" and stored["is_member"].isna().any()
    # The current window as read_window gives it: analysis dtypes.
    window = contract.analysis_frame(core_mixed_model.test).reset_index(drop=True)
    proba = predictor.predict_proba(core_mixed_model.test)
    window["prediction_probability"] = proba
    window["prediction_label"] = [str(label) for label in predictor.labels(proba)]
    window["amount"] = np.nan
    inputs = drift_inputs(contract, stored, window)
    assert inputs.all_null == ["amount"]
    specs = metric_specs(inputs.numeric, inputs.categorical, DriftConfig())
    report = build_report(
        inputs.reference[inputs.tested],
        inputs.current[inputs.tested],
        specs,
        inputs.numeric,
        inputs.categorical,
    )
    summary = summarize(
        report.as_dict(),
        model_name="m",
        model_version="1",
        window=WINDOW,
        reference=inputs.reference,
        current=inputs.current,
        positive_label="yes",
        cfg=DriftConfig(),
        all_null=inputs.all_null,
    )
    assert summary.data_quality["all_null"] == ["amount"]
    assert summary.data_quality["missing_values"]["amount"] == 1.0
    assert "amount" not in summary.columns
    assert {"is_member", "city", "plan", "x"} <= set(summary.columns)
    assert "1 all-null column(s) left out of the drift test: amount" in summary.message
