"""Small, fast models for tests: one place that builds a test table, model config and bundle.

Production code builds bundles with :func:`tabular_classifier.training.fit_bundle`; tests that
need *a* trained model (not a particular one) use these so that the model settings and the
schema → split → fit sequence are written once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tabular_classifier.config import DataConfig, ModelConfig, SplitConfig
from tabular_classifier.data import split_data, validate_and_infer_schema
from tabular_classifier.predictor import ModelBundle
from tabular_classifier.training import fit_bundle

SMALL_MODEL: dict[str, Any] = {
    "hidden_sizes": [8],
    "dropout": 0.0,
    "learning_rate": 1e-2,
    "batch_size": 32,
    "epochs": 3,
    "early_stopping_patience": 0,
}
"""One hidden layer of 8 units, no dropout or early stopping: trains in well under a second on
a few thousand rows, and still learns a clearly separable target."""


def small_model_config(name: str, **overrides: Any) -> ModelConfig:
    """:data:`SMALL_MODEL` named ``name``, with ``overrides`` (any ModelConfig field) applied.

    Raises:
        pydantic.ValidationError: When an override is not a valid ModelConfig value.
    """
    return ModelConfig.model_validate({**SMALL_MODEL, "name": name, **overrides})


def fit_small_bundle(
    table: pd.DataFrame,
    data_cfg: DataConfig,
    name: str,
    *,
    split: SplitConfig | None = None,
    extra: dict[str, Any] | None = None,
    **model_overrides: Any,
) -> ModelBundle:
    """Infer the schema of ``table``, split it (default :class:`SplitConfig`) and fit a bundle.

    Args:
        table: The whole table, target column included (n rows).
        data_cfg: Its data config; ``data_cfg.path`` names the table in errors.
        name: The model config's name.
        split: Split settings; the defaults when None.
        extra: Extra metadata stored in the bundle (``fit_bundle``'s ``extra``).
        **model_overrides: ModelConfig fields that differ from :data:`SMALL_MODEL`.

    Returns:
        The bundle, trained on the train split with early stopping on the validation split.
    """
    schema = validate_and_infer_schema(table, data_cfg, data_cfg.path)
    train, val, _ = split_data(table, schema, split or SplitConfig(), data_cfg.path)
    cfg = small_model_config(name, **model_overrides)
    bundle, _ = fit_bundle(cfg, schema, train, val, extra=extra)
    return bundle


def churn_table(n: int, seed: int = 0) -> pd.DataFrame:
    """A small churn table: two numeric features, one categorical, string labels.

    Columns: ``tenure`` (float64, whole months 0-71), ``charges`` (float64), ``contract``
    (``monthly``, ``yearly`` or ``two-year``) and the target ``churn`` (``yes``/``no``: yes for
    a monthly contract under 20 months, so a small model learns it).
    """
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "tenure": rng.integers(0, 72, size=n).astype(float),
            "charges": rng.normal(70, 20, size=n),
            "contract": rng.choice(["monthly", "yearly", "two-year"], size=n),
        }
    )
    churn = (frame["tenure"] < 20) & (frame["contract"] == "monthly")
    frame["churn"] = np.where(churn, "yes", "no")
    return frame
