"""Split step: stratified train / validation / test split."""

from __future__ import annotations

from typing import Annotated, Any

import mlflow
import pandas as pd
from zenml import log_metadata, step

from steps.caching import ML_CODE
from steps.tracking import record_failure
from tabular_classifier.config import SplitConfig, load_data_config
from tabular_classifier.data import FeatureSchema
from tabular_classifier.data import split_data as split_frame


@step(experiment_tracker=True, cache_policy=ML_CODE)
def split_data(
    raw_data: pd.DataFrame,
    feature_schema: dict[str, Any],
    data_config: dict[str, Any],
    split_config: dict[str, Any],
) -> tuple[
    Annotated[pd.DataFrame, "train_split"],
    Annotated[pd.DataFrame, "validation_split"],
    Annotated[pd.DataFrame, "test_split"],
]:
    """Split the validated table, stratified on the target, reproducibly.

    Args:
        raw_data: The validated table, shape (n_rows, n_columns).
        feature_schema: The schema from the validation step.
        data_config: The ``data:`` block of the run config (for error messages).
        split_config: ``test_size`` and ``val_size`` (fractions) and ``random_state``.

    Returns:
        Train, validation and test frames with the feature columns and the target.

    Raises:
        DataValidationError: If there are fewer rows of a class than the split needs.
    """
    with record_failure("split_data"):
        cfg = load_data_config(data_config, source="data")
        split = SplitConfig.model_validate(split_config)
        schema = FeatureSchema.from_dict(feature_schema)
        train, val, test = split_frame(raw_data, schema, split, source=cfg.path)
        sizes = {"train_rows": len(train), "validation_rows": len(val), "test_rows": len(test)}
        log_metadata(metadata={**sizes, "random_state": split.random_state})
        mlflow.log_params(
            {
                **{"data." + k: v for k, v in sizes.items()},
                "split.test_size": split.test_size,
                "split.val_size": split.val_size,
                "split.random_state": split.random_state,
            }
        )
        return train, val, test
