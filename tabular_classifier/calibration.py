"""Probabilities that mean what they say, and a decision threshold chosen for the use case.

Both are fitted on the validation split (never on test rows), after training:

* :func:`fit_temperature`: temperature scaling (Guo, Pleiss, Sun and Weinberger 2017, "On
  Calibration of Modern Neural Networks"), one scalar ``T`` dividing every logit, chosen to
  minimise the validation log loss. It changes probabilities, never their order, so ROC AUC and
  precision-recall curves stay the same.
* :func:`choose_threshold`: a decision threshold from a rule (``ThresholdRule``) on the
  validation probabilities as they will be served (after calibration).

:func:`brier_score` and :func:`reliability_curve` measure calibration on the test split.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.metrics import precision_recall_curve, roc_curve

from tabular_classifier.model_config import ThresholdRule

TEMPERATURE_BOUNDS = (0.05, 20.0)
"""Search interval of the temperature. Outside it a network's logits carry almost no information
(T > 20) or are sharpened twentyfold (T < 0.05); either means the model, not its calibration,
needs fixing."""

RELIABILITY_BINS = 10
"""Equal-width probability bins of the reliability diagram (the usual choice, Niculescu-Mizil and
Caruana 2005)."""


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * z))
    return out


def _log_loss(logits: np.ndarray, y: np.ndarray) -> float:
    # log(1 + exp(-|z|)) + max(z, 0) - y z: the numerically stable binary cross-entropy.
    return float(np.mean(np.logaddexp(0.0, logits) - y * logits))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature minimising the log loss of ``sigmoid(logits / T)``.

    Args:
        logits: float64 (n,) validation logits of the network.
        y: int64 (n,) validation labels, 0 or 1, both present.

    Returns:
        T in :data:`TEMPERATURE_BOUNDS` (1.0 leaves the probabilities as they are).

    Raises:
        ValueError: If the shapes differ, a logit is not finite, or a class is missing.
    """
    z = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(y, dtype=np.float64)
    if z.shape != labels.shape or z.ndim != 1:
        raise ValueError(f"logits {z.shape} and labels {labels.shape} must be the same 1-D shape")
    if not np.isfinite(z).all():
        raise ValueError("the validation logits are not all finite")
    if labels.min() == labels.max():
        raise ValueError("temperature scaling needs both classes in the validation split")
    low, high = (math.log(bound) for bound in TEMPERATURE_BOUNDS)
    result = minimize_scalar(
        lambda log_t: _log_loss(z / math.exp(log_t), labels),
        bounds=(low, high),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(math.exp(result.x))


def choose_threshold(rule: ThresholdRule, probabilities: np.ndarray, y: np.ndarray) -> float:
    """The decision threshold a rule selects on the validation split.

    A row is predicted positive when its probability is at or above the threshold, so every
    candidate is one of the validation probabilities.

    Args:
        rule: The rule and its arguments.
        probabilities: float64 (n,) validation probabilities, as they will be served.
        y: int64 (n,) validation labels, both classes present.

    Returns:
        The threshold, in (0, 1).

    Raises:
        ValueError: If a class is missing from ``y``, or no threshold reaches a
            ``min_precision`` target (the message gives the best precision reached).
    """
    p = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(y, dtype=np.int64)
    if labels.min() == labels.max():
        raise ValueError(f"threshold rule '{rule.rule}' needs both classes in the validation split")
    if rule.rule == "youden":
        fpr, tpr, thresholds = roc_curve(labels, p)
        best = int(np.argmax((tpr - fpr)[1:])) + 1  # thresholds[0] is +inf
        return _open_unit(float(thresholds[best]))
    precision, recall, thresholds = precision_recall_curve(labels, p)
    # precision[i], recall[i] belong to thresholds[i]; the last point (recall 0) has none.
    precision, recall = precision[:-1], recall[:-1]
    if rule.rule == "max_f1":
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0)
        return _open_unit(float(thresholds[int(np.argmax(f1))]))
    if rule.rule == "min_recall":
        assert rule.value is not None
        reaching = np.flatnonzero(recall >= rule.value)
        return _open_unit(float(thresholds[reaching.max()]))
    if rule.rule == "min_precision":
        assert rule.value is not None
        reaching = np.flatnonzero(precision >= rule.value)
        if reaching.size == 0:
            raise ValueError(
                f"threshold rule 'min_precision': no threshold reaches precision {rule.value} "
                f"on the validation split (best {precision.max():.3f})"
            )
        return _open_unit(float(thresholds[reaching.min()]))
    assert rule.false_positive_cost is not None and rule.false_negative_cost is not None
    n_positive = int(labels.sum())
    true_positive = recall * n_positive
    with np.errstate(invalid="ignore", divide="ignore"):
        false_positive = np.where(precision > 0, true_positive / precision - true_positive, 0)
    cost = rule.false_positive_cost * false_positive + rule.false_negative_cost * (
        n_positive - true_positive
    )
    return _open_unit(float(thresholds[int(np.argmin(cost))]))


def _open_unit(threshold: float) -> float:
    """Keep a threshold inside (0, 1), which the bundle requires."""
    return min(max(threshold, 1e-12), 1.0 - 1e-12)


def brier_score(y: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean squared difference between probability and outcome (Brier 1950); lower is better.

    Args:
        y: int64 (n,) labels, 0 or 1.
        probabilities: float64 (n,) positive-class probabilities.

    Returns:
        The score, in [0, 1]; 0.25 is what always answering 0.5 scores.
    """
    return float(np.mean((np.asarray(probabilities, float) - np.asarray(y, float)) ** 2))


def reliability_curve(
    y: np.ndarray, probabilities: np.ndarray, bins: int = RELIABILITY_BINS
) -> dict[str, list[float]]:
    """Observed frequency of positives against mean predicted probability, per bin.

    Args:
        y: int64 (n,) labels, 0 or 1.
        probabilities: float64 (n,) positive-class probabilities.
        bins: Number of equal-width bins over [0, 1].

    Returns:
        ``{"mean_predicted", "fraction_positive", "count"}``, one entry per non-empty bin, in
        increasing probability: a calibrated model has ``fraction_positive`` close to
        ``mean_predicted``.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(y, dtype=np.float64)
    which = np.minimum((p * bins).astype(np.int64), bins - 1)
    counts = np.bincount(which, minlength=bins)
    sums = np.bincount(which, weights=p, minlength=bins)
    positives = np.bincount(which, weights=labels, minlength=bins)
    present = counts > 0
    return {
        "mean_predicted": (sums[present] / counts[present]).tolist(),
        "fraction_positive": (positives[present] / counts[present]).tolist(),
        "count": counts[present].astype(float).tolist(),
    }
