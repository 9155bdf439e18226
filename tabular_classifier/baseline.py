"""The baseline every MLP is measured against: a logistic regression on the same features.

Trained on the same split and the same fitted preprocessing as the network (standardised
numbers, one-hot categories), with scikit-learn's ``LogisticRegression`` (L2, C=1, lbfgs). A
network that cannot beat it has not earned its complexity; promotion can require a margin over
it (``PromotionPolicy.min_gain_over_baseline``).
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

BASELINE_NAME = "logistic_regression"
BASELINE_MAX_ITER = 1000
"""lbfgs iterations: enough for standardised features to converge on the tables we tried."""


def fit_baseline(x_train: np.ndarray, y_train: np.ndarray, balanced: bool) -> LogisticRegression:
    """Fit the baseline.

    Args:
        x_train: float32 (n, d) preprocessed training features.
        y_train: int64 (n,) labels, 0 or 1, both present.
        balanced: Weight the classes by inverse frequency (as the MLP's ``class_weighting:
            balanced``).

    Returns:
        The fitted model (deterministic: lbfgs has no randomness).

    Raises:
        ValueError: If a class is missing (scikit-learn's message).
    """
    model = LogisticRegression(
        max_iter=BASELINE_MAX_ITER, class_weight="balanced" if balanced else None
    )
    return model.fit(x_train, y_train)
