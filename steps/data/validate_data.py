"""Validation step: check the raw data against the data contract before any training."""

from __future__ import annotations

from typing import Annotated

import mlflow
import pandas as pd
from zenml import log_metadata, step
from zenml.logger import get_logger

from steps.caching import ML_CODE
from steps.tracking import record_failure
from tabular_classifier.config import DataConfig
from tabular_classifier.data import FeatureSchema, validate_and_infer_schema

logger = get_logger(__name__)


@step(experiment_tracker=True, cache_policy=ML_CODE)
def validate_data(
    raw_data: pd.DataFrame, data_config: DataConfig
) -> Annotated[FeatureSchema, "feature_schema"]:
    """Validate the table and infer (or confirm) the feature schema.

    Args:
        raw_data: The ingested table, shape (n_rows, n_columns).
        data_config: The ``data:`` block of the run config, validated when the pipeline was
            compiled.

    Returns:
        The feature schema: target, positive and negative labels, numeric, categorical and
        dropped columns (stored as JSON and shown as a table of columns and their roles,
        ``materializers/typed_records.py``).

    Raises:
        DataValidationError: Naming the file and the column, for a missing target, a target
            with one or more than two classes, an absent positive label, an all-null feature,
            a non-numeric value in a numeric feature, or a missing declared column.
    """
    with record_failure("validate_data"):
        schema = validate_and_infer_schema(raw_data, data_config, source=data_config.path)
        logger.info(
            "%s is valid: target '%s' (positive %r), %d numeric and %d categorical features",
            data_config.path,
            schema.target,
            schema.positive_label,
            len(schema.numeric_features),
            len(schema.categorical_features),
        )
        summary = {
            "n_rows": len(raw_data),
            "n_numeric_features": len(schema.numeric_features),
            "n_categorical_features": len(schema.categorical_features),
        }
        log_metadata(metadata={"schema": schema.to_dict(), **summary})
        mlflow.log_params({"data." + k: v for k, v in summary.items()})
        return schema
