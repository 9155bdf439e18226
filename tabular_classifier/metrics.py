"""Evaluation: scalar metrics, reports and PNG plots for a binary classifier.

Plots are drawn on ``matplotlib.figure.Figure`` objects directly, not through ``pyplot``: no
display or global backend is needed, and nothing stays registered once the bytes are returned.
"""

import io
import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from sklearn import metrics as skm

METRIC_KEYS = ("test_accuracy", "test_roc_auc", "test_precision", "test_recall", "test_f1_score")
"""Keys of :func:`compute_metrics`, in order."""


def _inputs(y_true: Any, proba: Any) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(y_true)
    scores = np.asarray(proba, dtype=np.float64)
    if labels.ndim != 1 or labels.shape != scores.shape or labels.size == 0:
        raise ValueError(
            f"y_true and proba must be 1-D, non-empty and of equal length, got shapes "
            f"{labels.shape} and {scores.shape}"
        )
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("y_true must hold only 0 and 1")
    if not np.isfinite(scores).all():
        raise ValueError("proba holds NaN or infinite values")
    return labels.astype(np.int64), scores


def _require_both_classes(labels: np.ndarray) -> None:
    if not 0 < int(labels.sum()) < labels.size:
        raise ValueError("y_true must hold both classes")


def _predict(proba: np.ndarray, threshold: float) -> np.ndarray:
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    return (proba >= threshold).astype(np.int64)


def compute_metrics(y_true: np.ndarray, proba: np.ndarray, threshold: float) -> dict[str, float]:
    """Compute the headline test metrics.

    A row is predicted positive when its probability is at or above ``threshold``. Precision,
    recall and F1 concern the positive class (1) and are 0 when undefined (zero_division=0).

    Args:
        y_true: int (n,) true labels, 0 or 1.
        proba: float64 (n,) predicted probabilities of class 1.
        threshold: Decision threshold in (0, 1).

    Returns:
        ``{"test_accuracy", "test_roc_auc", "test_precision", "test_recall", "test_f1_score"}``
        as Python floats in [0, 1]; ``test_roc_auc`` is NaN when ``y_true`` holds one class.

    Raises:
        ValueError: If shapes disagree, labels are not 0/1, probabilities are not finite, or the
            threshold is outside (0, 1).
    """
    labels, scores = _inputs(y_true, proba)
    predicted = _predict(scores, threshold)
    both_classes = 0 < int(labels.sum()) < labels.size
    return {
        "test_accuracy": float(skm.accuracy_score(labels, predicted)),
        "test_roc_auc": float(skm.roc_auc_score(labels, scores)) if both_classes else math.nan,
        "test_precision": float(skm.precision_score(labels, predicted, zero_division=0)),
        "test_recall": float(skm.recall_score(labels, predicted, zero_division=0)),
        "test_f1_score": float(skm.f1_score(labels, predicted, zero_division=0)),
    }


def classification_report(
    y_true: np.ndarray, proba: np.ndarray, threshold: float, label_names: tuple[str, str]
) -> tuple[str, dict[str, Any]]:
    """Build scikit-learn's classification report at a decision threshold.

    Args:
        y_true: int (n,) true labels, 0 or 1.
        proba: float64 (n,) predicted probabilities of class 1.
        threshold: Decision threshold in (0, 1).
        label_names: Display names of class 0 and class 1, in that order.

    Returns:
        The text report and the same report as a dictionary (``output_dict=True``).

    Raises:
        ValueError: As :func:`compute_metrics`.
    """
    labels, scores = _inputs(y_true, proba)
    predicted = _predict(scores, threshold)
    kwargs: dict[str, Any] = {
        "labels": [0, 1],
        "target_names": list(label_names),
        "zero_division": 0,
    }
    text = skm.classification_report(labels, predicted, digits=4, **kwargs)
    report = skm.classification_report(labels, predicted, output_dict=True, **kwargs)
    return str(text), dict(report)


def confusion(y_true: np.ndarray, proba: np.ndarray, threshold: float) -> list[list[int]]:
    """Confusion matrix at a decision threshold.

    Args:
        y_true: int (n,) true labels, 0 or 1.
        proba: float64 (n,) predicted probabilities of class 1.
        threshold: Decision threshold in (0, 1).

    Returns:
        ``[[tn, fp], [fn, tp]]``: rows are true classes 0 and 1, columns predicted classes.

    Raises:
        ValueError: As :func:`compute_metrics`.
    """
    labels, scores = _inputs(y_true, proba)
    matrix = skm.confusion_matrix(labels, _predict(scores, threshold), labels=[0, 1])
    return [[int(count) for count in row] for row in matrix]


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def plot_confusion_matrix(cm: list[list[int]], label_names: tuple[str, str]) -> bytes:
    """Draw a confusion matrix as an annotated heatmap.

    Args:
        cm: 2x2 counts as returned by :func:`confusion`.
        label_names: Display names of class 0 and class 1.

    Returns:
        PNG bytes.

    Raises:
        ValueError: If ``cm`` is not 2x2.
    """
    counts = np.asarray(cm, dtype=np.int64)
    if counts.shape != (2, 2):
        raise ValueError(f"cm must be 2x2, got shape {counts.shape}")
    figure = Figure(figsize=(4.5, 4))
    axes = figure.subplots()
    image = axes.imshow(counts, cmap="Blues")
    figure.colorbar(image, ax=axes)
    threshold = counts.max() / 2
    for (row, col), count in np.ndenumerate(counts):
        axes.text(
            col,
            row,
            str(count),
            ha="center",
            va="center",
            color="white" if count > threshold else "black",
        )
    axes.set_xticks([0, 1], labels=list(label_names))
    axes.set_yticks([0, 1], labels=list(label_names))
    axes.set_xlabel("Predicted")
    axes.set_ylabel("True")
    axes.set_title("Confusion matrix")
    figure.tight_layout()
    return _png(figure)


def plot_roc_curve(y_true: np.ndarray, proba: np.ndarray) -> bytes:
    """Draw the ROC curve with its AUC.

    Args:
        y_true: int (n,) true labels, 0 or 1, both present.
        proba: float64 (n,) predicted probabilities of class 1.

    Returns:
        PNG bytes.

    Raises:
        ValueError: If inputs are invalid or ``y_true`` holds one class only.
    """
    labels, scores = _inputs(y_true, proba)
    _require_both_classes(labels)
    false_positive_rate, true_positive_rate, _ = skm.roc_curve(labels, scores)
    auc = skm.roc_auc_score(labels, scores)
    figure = Figure(figsize=(4.5, 4))
    axes = figure.subplots()
    axes.plot(false_positive_rate, true_positive_rate, label=f"ROC (AUC = {auc:.3f})")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="Chance")
    axes.set_xlabel("False positive rate")
    axes.set_ylabel("True positive rate")
    axes.set_title("ROC curve")
    axes.legend(loc="lower right")
    figure.tight_layout()
    return _png(figure)


def plot_precision_recall_curve(y_true: np.ndarray, proba: np.ndarray) -> bytes:
    """Draw the precision-recall curve with its average precision.

    Args:
        y_true: int (n,) true labels, 0 or 1, both present.
        proba: float64 (n,) predicted probabilities of class 1.

    Returns:
        PNG bytes.

    Raises:
        ValueError: If inputs are invalid or ``y_true`` holds one class only.
    """
    labels, scores = _inputs(y_true, proba)
    _require_both_classes(labels)
    precision, recall, _ = skm.precision_recall_curve(labels, scores)
    average_precision = skm.average_precision_score(labels, scores)
    figure = Figure(figsize=(4.5, 4))
    axes = figure.subplots()
    axes.step(recall, precision, where="post", label=f"AP = {average_precision:.3f}")
    axes.axhline(labels.mean(), linestyle="--", color="grey", label="Prevalence")
    axes.set_xlabel("Recall")
    axes.set_ylabel("Precision")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.05)
    axes.set_title("Precision-recall curve")
    axes.legend(loc="lower left")
    figure.tight_layout()
    return _png(figure)


def plot_reliability_diagram(curve: dict[str, list[float]], brier: float) -> bytes:
    """Draw a reliability diagram: observed frequency of positives against predicted probability.

    Args:
        curve: From ``tabular_classifier.calibration.reliability_curve``.
        brier: The Brier score, shown in the legend.

    Returns:
        PNG bytes; points on the diagonal are perfectly calibrated, marker sizes follow bin
        counts.
    """
    figure = Figure(figsize=(4.5, 4))
    axes = figure.subplots()
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="Perfectly calibrated")
    counts = np.asarray(curve["count"], dtype=np.float64)
    sizes = 20 + 180 * counts / counts.max() if counts.size else counts
    axes.plot(
        curve["mean_predicted"],
        curve["fraction_positive"],
        marker="o",
        markersize=4,
        label=f"Model (Brier = {brier:.3f})",
    )
    axes.scatter(curve["mean_predicted"], curve["fraction_positive"], s=sizes, alpha=0.3)
    axes.set_xlabel("Mean predicted probability")
    axes.set_ylabel("Fraction of positives")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_title("Reliability diagram")
    axes.legend(loc="upper left")
    figure.tight_layout()
    return _png(figure)


DEGENERATE_SHARE = 0.99
"""A model that predicts one class for at least this share of the test rows is degenerate (our
rule: it has learned the prevalence, not the data)."""


def degenerate_reason(y_true: np.ndarray, proba: np.ndarray, threshold: float) -> str | None:
    """Why a model's test predictions are degenerate, or None when they are not.

    Degenerate: one class predicted for at least :data:`DEGENERATE_SHARE` of the rows, or a
    recall or precision of 0 on the positive class.

    Args:
        y_true: int (n,) true labels, 0 or 1.
        proba: float64 (n,) predicted probabilities of class 1.
        threshold: Decision threshold in (0, 1).

    Returns:
        A sentence naming the numbers, or None.
    """
    labels, scores = _inputs(y_true, proba)
    predicted = _predict(scores, threshold)
    positive_share = float(predicted.mean())
    if positive_share >= DEGENERATE_SHARE or positive_share <= 1 - DEGENERATE_SHARE:
        label = "positive" if positive_share >= 0.5 else "negative"
        share = positive_share if label == "positive" else 1 - positive_share
        return (
            f"predicts {label} for {share:.1%} of the {labels.size} test rows "
            f"(at threshold {threshold:.4g})"
        )
    recall = float(skm.recall_score(labels, predicted, zero_division=0))
    precision = float(skm.precision_score(labels, predicted, zero_division=0))
    if recall == 0 or precision == 0:
        return f"recall {recall:.3f} and precision {precision:.3f} on the positive class"
    return None


MAX_CURVE_POINTS = 200
"""Points kept per ROC or precision-recall curve in the evaluation report. A curve has one
point per distinct score (800,000 at 1M test rows, 12 MB of JSON); 200 points draw it within a
pixel at the plots' size and keep the report under a few hundred kilobytes. The exact AUCs are
computed on the full curves."""


def thin_curve(
    columns: dict[str, np.ndarray], max_points: int = MAX_CURVE_POINTS
) -> dict[str, list[float]]:
    """Keep at most ``max_points`` evenly spaced points of a curve, its two ends included.

    Args:
        columns: Equal-length 1-D arrays (e.g. ``fpr``, ``tpr``, ``thresholds``).
        max_points: The most points kept, >= 2.

    Returns:
        The same keys, as lists of floats.
    """
    length = len(next(iter(columns.values())))
    if length <= max_points:
        keep = np.arange(length)
    else:
        keep = np.unique(np.linspace(0, length - 1, max_points).round().astype(np.int64))
    return {
        key: np.asarray(values, dtype=np.float64)[keep].tolist() for key, values in columns.items()
    }
