"""Metrics on hand-computed examples, reports, and PNG plots drawn without a display."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

from tabular_classifier.metrics import (
    METRIC_KEYS,
    classification_report,
    compute_metrics,
    confusion,
    plot_confusion_matrix,
    plot_precision_recall_curve,
    plot_roc_curve,
)

Y = np.array([0, 0, 0, 1, 1, 1])
P = np.array([0.1, 0.4, 0.7, 0.3, 0.8, 0.9])
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_metrics_on_a_known_example() -> None:
    # At 0.5: predictions [0, 0, 1, 0, 1, 1] -> tp=2, fp=1, fn=1, tn=2.
    metrics = compute_metrics(Y, P, 0.5)
    assert tuple(metrics) == METRIC_KEYS
    assert metrics == {
        "test_accuracy": pytest.approx(4 / 6),
        # Positive/negative pairs ranked correctly: 7 of 9.
        "test_roc_auc": pytest.approx(7 / 9),
        "test_precision": pytest.approx(2 / 3),
        "test_recall": pytest.approx(2 / 3),
        "test_f1_score": pytest.approx(2 / 3),
    }
    assert all(type(value) is float for value in metrics.values())


def test_threshold_is_inclusive_and_moves_the_metrics() -> None:
    assert compute_metrics(Y, P, 0.7)["test_precision"] == pytest.approx(2 / 3)
    assert compute_metrics(Y, P, 0.71)["test_precision"] == pytest.approx(1.0)
    assert compute_metrics(Y, P, 0.71)["test_recall"] == pytest.approx(2 / 3)


def test_zero_division_gives_zero() -> None:
    metrics = compute_metrics(Y, P, 0.95)  # nothing predicted positive
    assert metrics["test_precision"] == 0.0
    assert metrics["test_f1_score"] == 0.0


def test_roc_auc_is_nan_with_one_class() -> None:
    assert math.isnan(
        compute_metrics(np.ones(3, dtype=int), np.array([0.2, 0.6, 0.9]), 0.5)["test_roc_auc"]
    )


def test_confusion_matrix_layout() -> None:
    assert confusion(Y, P, 0.5) == [[2, 1], [1, 2]]
    assert confusion(np.array([1, 1]), np.array([0.9, 0.8]), 0.5) == [[0, 0], [0, 2]]


def test_classification_report_text_and_dict() -> None:
    text, report = classification_report(Y, P, 0.5, ("malignant", "benign"))
    assert "malignant" in text and "benign" in text
    assert report["benign"]["precision"] == pytest.approx(2 / 3)
    assert report["malignant"]["support"] == 3
    assert report["accuracy"] == pytest.approx(4 / 6)


@pytest.mark.parametrize(
    ("y", "p", "threshold", "message"),
    [
        (Y, P[:-1], 0.5, "equal length"),
        (Y * 2, P, 0.5, "only 0 and 1"),
        (Y, np.where(P > 0.5, np.nan, P), 0.5, "NaN"),
        (Y, P, 0.0, "threshold"),
        (Y, P, 1.0, "threshold"),
        (Y[:0], P[:0], 0.5, "non-empty"),
    ],
)
def test_invalid_inputs(y: np.ndarray, p: np.ndarray, threshold: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_metrics(y, p, threshold)


def test_plots_are_png_and_leave_no_open_figure() -> None:
    before = plt.get_fignums()
    images = [
        plot_confusion_matrix(confusion(Y, P, 0.5), ("malignant", "benign")),
        plot_roc_curve(Y, P),
        plot_precision_recall_curve(Y, P),
    ]
    for image in images:
        assert image.startswith(PNG_MAGIC)
        assert len(image) > 5_000
    assert plt.get_fignums() == before


def test_curves_need_both_classes() -> None:
    with pytest.raises(ValueError, match="both classes"):
        plot_roc_curve(np.ones(3, dtype=int), np.array([0.2, 0.6, 0.9]))
    with pytest.raises(ValueError, match="both classes"):
        plot_precision_recall_curve(np.zeros(3, dtype=int), np.array([0.2, 0.6, 0.9]))


def test_confusion_plot_needs_a_2x2_matrix() -> None:
    with pytest.raises(ValueError, match="2x2"):
        plot_confusion_matrix([[1, 2, 3]], ("a", "b"))
