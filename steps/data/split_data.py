"""Split step: train / validation / test by a salted hash of each row, stored as row codes."""

from __future__ import annotations

from typing import Annotated

import mlflow
import pandas as pd
from zenml import log_metadata, step

from steps.caching import ML_CODE
from steps.tracking import record_failure
from tabular_classifier.config import SplitConfig
from tabular_classifier.data import FeatureSchema
from tabular_classifier.data_version import DataVersion
from tabular_classifier.splits import DataSplit


@step(experiment_tracker=True, cache_policy=ML_CODE)
def split_data(
    raw_data: pd.DataFrame,
    feature_schema: FeatureSchema,
    data_version: DataVersion,
    split_config: SplitConfig,
) -> Annotated[DataSplit, "data_split"]:
    """Assign every row of the validated table to a split, reproducibly.

    The output is one int8 code per row of ``raw_data`` with the data version's md5 and the
    rows and positives of each split, not three more copies of the table: the steps that need
    a split's rows take them from ``raw_data`` (``DataSplit.take``). The dashboard shows the
    split as a table (``materializers/data_split_materializer.py``).

    Args:
        raw_data: The validated table, shape (n_rows, n_columns).
        feature_schema: The schema from the validation step.
        data_version: The data version from the ingest step (its ``md5`` is kept; its
            ``path`` names the file in error messages).
        split_config: ``test_size`` and ``val_size`` (fractions), ``random_state`` and
            ``key_columns``, validated when the pipeline was compiled.

    Returns:
        The split of the table's rows.

    Raises:
        DataValidationError: If there are fewer rows of a class than a split needs, or a key
            column is missing.
    """
    with record_failure("split_data"):
        data_split = DataSplit.compute(
            raw_data, feature_schema, split_config, data_version.md5, data_version.path
        )
        counts = data_split.counts
        sizes = {
            "train_rows": counts["train"],
            "validation_rows": counts["val"],
            "test_rows": counts["test"],
        }
        log_metadata(metadata={**sizes, "random_state": split_config.random_state})
        mlflow.log_params(
            {
                **{"data." + k: v for k, v in sizes.items()},
                "split.test_size": split_config.test_size,
                "split.val_size": split_config.val_size,
                "split.random_state": split_config.random_state,
            }
        )
        return data_split
