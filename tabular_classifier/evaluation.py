"""Held-out evaluation of a trained classifier, as one self-contained report.

The report carries the test metrics, the confusion matrix, the ROC and precision-recall curves,
the classification report and their PNG renderings, plus a small fixed *smoke sample*: input
rows with the probabilities the model gave them at evaluation. A deployment can replay that
sample against a served endpoint and demand the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from tabular_classifier.data import FeatureSchema, encode_target
from tabular_classifier.metrics import (
    classification_report,
    compute_metrics,
    confusion,
    plot_confusion_matrix,
    plot_precision_recall_curve,
    plot_roc_curve,
)
from tabular_classifier.predictor import Predictor

SMOKE_SAMPLE_ROWS = 20
PROBABILITY_COLUMN = "prediction_probability"
LABEL_COLUMN = "prediction_label"


@dataclass
class EvaluationReport:
    """Test-set evaluation of one model.

    Attributes:
        metrics: ``test_accuracy``, ``test_roc_auc``, ``test_precision``, ``test_recall`` and
            ``test_f1_score`` (floats in [0, 1]).
        threshold: Decision threshold on the positive-class probability.
        n_rows: Number of test rows.
        positive_rate: Share of positive rows in the test set.
        label_names: ``(negative, positive)`` label names as strings.
        confusion_matrix: 2x2 counts, rows = true ``(negative, positive)``, columns = predicted.
        classification_report_text: sklearn's text report.
        classification_report: sklearn's report as a dict.
        roc_curve: ``{"fpr": [...], "tpr": [...], "thresholds": [...]}``.
        pr_curve: ``{"precision": [...], "recall": [...], "thresholds": [...]}``.
        smoke_sample: Up to 20 test rows (feature columns only), as JSON records.
        smoke_probabilities: The positive-class probabilities (float64) the model gave them.
        plots: PNG bytes keyed by ``confusion_matrix``, ``roc_curve``, ``precision_recall_curve``.
    """

    metrics: dict[str, float]
    threshold: float
    n_rows: int
    positive_rate: float
    label_names: tuple[str, str]
    confusion_matrix: list[list[int]]
    classification_report_text: str
    classification_report: dict[str, Any]
    roc_curve: dict[str, list[float]]
    pr_curve: dict[str, list[float]]
    smoke_sample: list[dict[str, Any]]
    smoke_probabilities: list[float]
    plots: dict[str, bytes] = field(default_factory=dict)

    def to_json_dict(self) -> dict[str, Any]:
        """Everything but the PNG plots, JSON-safe (floats round-trip exactly)."""
        return {
            "metrics": self.metrics,
            "threshold": self.threshold,
            "n_rows": self.n_rows,
            "positive_rate": self.positive_rate,
            "label_names": list(self.label_names),
            "confusion_matrix": self.confusion_matrix,
            "classification_report_text": self.classification_report_text,
            "classification_report": self.classification_report,
            "roc_curve": self.roc_curve,
            "pr_curve": self.pr_curve,
            "smoke_sample": self.smoke_sample,
            "smoke_probabilities": self.smoke_probabilities,
        }

    @classmethod
    def from_json_dict(cls, data: dict[str, Any], plots: dict[str, bytes]) -> EvaluationReport:
        """Rebuild a report from :meth:`to_json_dict` output and the PNG bytes."""
        names = data["label_names"]
        return cls(
            metrics={k: float(v) for k, v in data["metrics"].items()},
            threshold=float(data["threshold"]),
            n_rows=int(data["n_rows"]),
            positive_rate=float(data["positive_rate"]),
            label_names=(str(names[0]), str(names[1])),
            confusion_matrix=[[int(v) for v in row] for row in data["confusion_matrix"]],
            classification_report_text=data["classification_report_text"],
            classification_report=data["classification_report"],
            roc_curve=data["roc_curve"],
            pr_curve=data["pr_curve"],
            smoke_sample=data["smoke_sample"],
            smoke_probabilities=[float(p) for p in data["smoke_probabilities"]],
            plots=plots,
        )

    def smoke_frame(self) -> pd.DataFrame:
        """The smoke sample as a DataFrame with the model's feature columns."""
        return pd.DataFrame.from_records(self.smoke_sample)

    def to_markdown(self) -> str:
        """A human-readable summary (metrics table, confusion matrix, report) in Markdown."""
        neg, pos = self.label_names
        rows = "\n".join(f"| {k} | {v:.4f} |" for k, v in self.metrics.items())
        cm = self.confusion_matrix
        return (
            f"# Evaluation report\n\n"
            f"{self.n_rows} test rows, {self.positive_rate:.1%} positive (`{pos}`), "
            f"threshold {self.threshold}.\n\n"
            f"| metric | value |\n|---|---|\n{rows}\n\n"
            f"## Confusion matrix\n\n"
            f"| true \\ predicted | {neg} | {pos} |\n|---|---|---|\n"
            f"| **{neg}** | {cm[0][0]} | {cm[0][1]} |\n"
            f"| **{pos}** | {cm[1][0]} | {cm[1][1]} |\n\n"
            f"## Classification report\n\n```\n{self.classification_report_text}\n```\n"
        )


def _json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts; floats stay exact (Python's repr round-trips float64)."""
    records: list[dict[str, Any]] = []
    for row in frame.astype(object).to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for key, value in row.items():
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, float) and not np.isfinite(value):
                value = None
            elif value is pd.NA or value is pd.NaT:
                value = None
            clean[str(key)] = value
        records.append(clean)
    return records


def evaluate(predictor: Predictor, test: pd.DataFrame, schema: FeatureSchema) -> EvaluationReport:
    """Score the test split with the predictor and build the full report.

    Args:
        predictor: The predictor wrapping the trained model.
        test: Test split, shape (n_rows, n_columns), with the feature columns and the target.
        schema: The data contract the model was trained on.

    Returns:
        The evaluation report.

    Raises:
        InputValidationError: If the test split lacks a feature column.
    """
    y_true = encode_target(test[schema.target], schema)
    features = test[schema.feature_columns]
    proba = predictor.predict_proba(features)
    threshold = predictor.bundle.decision_threshold
    label_names = (str(schema.negative_label), str(schema.positive_label))
    report_text, report_dict = classification_report(y_true, proba, threshold, label_names)
    cm = confusion(y_true, proba, threshold)
    fpr, tpr, roc_thr = roc_curve(y_true, proba)
    precision, recall, pr_thr = precision_recall_curve(y_true, proba)
    sample = features.head(SMOKE_SAMPLE_ROWS)
    return EvaluationReport(
        metrics=compute_metrics(y_true, proba, threshold),
        threshold=threshold,
        n_rows=len(test),
        positive_rate=float(np.mean(y_true)),
        label_names=label_names,
        confusion_matrix=cm,
        classification_report_text=report_text,
        classification_report=report_dict,
        # sklearn puts +inf as the first ROC threshold; JSON has no inf.
        roc_curve={
            "fpr": fpr.tolist(),
            "tpr": tpr.tolist(),
            "thresholds": np.minimum(roc_thr, 1.0).tolist(),
        },
        pr_curve={
            "precision": precision.tolist(),
            "recall": recall.tolist(),
            "thresholds": pr_thr.tolist(),
        },
        smoke_sample=_json_records(sample),
        smoke_probabilities=proba[: len(sample)].astype(np.float64).tolist(),
        plots={
            "confusion_matrix": plot_confusion_matrix(cm, label_names),
            "roc_curve": plot_roc_curve(y_true, proba),
            "precision_recall_curve": plot_precision_recall_curve(y_true, proba),
        },
    )


def reference_predictions(
    predictor: Predictor, frame: pd.DataFrame, schema: FeatureSchema
) -> pd.DataFrame:
    """The monitoring reference: feature columns, target, predicted probability and label.

    Args:
        predictor: The predictor wrapping the trained model.
        frame: A split (normally the training split), shape (n_rows, n_columns).
        schema: The data contract.

    Returns:
        DataFrame of shape (n_rows, n_features + 3): the feature columns as given, the target,
        ``prediction_probability`` (float64) and ``prediction_label`` (original label values).
    """
    out = frame[[*schema.feature_columns, schema.target]].copy()
    features = frame[schema.feature_columns]
    out[PROBABILITY_COLUMN] = predictor.predict_proba(features)
    out[LABEL_COLUMN] = predictor.predict(features)
    return out.reset_index(drop=True)
