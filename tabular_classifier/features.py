"""Feature preprocessing: scikit-learn's imputer, scaler and one-hot encoder, in NumPy.

:func:`build_preprocessor` is the scikit-learn ColumnTransformer that defines the preprocessing.
:class:`~tabular_classifier.fitted_preprocessor.FittedPreprocessor` (re-exported here) computes
the same parameters from NumPy arrays in chunks and applies them in NumPy, for fast, pickle-free
training and inference; :mod:`tabular_classifier.feature_arrays` holds the conversions both share.

The preprocessor must be fitted on the training split only: fitting on validation or test rows
leaks their medians, means and categories into the model and inflates the reported metrics.
"""

from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from tabular_classifier.feature_arrays import CHUNK_ROWS, MISSING_CATEGORY, categorical_as_strings
from tabular_classifier.feature_schema import FeatureSchema
from tabular_classifier.fitted_preprocessor import FittedPreprocessor

__all__ = [
    "CHUNK_ROWS",
    "MISSING_CATEGORY",
    "FittedPreprocessor",
    "build_preprocessor",
]


def _numeric_as_float(values: Any) -> np.ndarray:
    """Convert a 2-D block of numeric values to float64, nulls (None, pd.NA) becoming NaN.

    Args:
        values: DataFrame or array of shape (n, k) holding numbers, numeric strings or nulls.

    Returns:
        float64 array of shape (n, k).
    """
    if isinstance(values, pd.DataFrame):
        converted: np.ndarray = values.to_numpy(dtype=np.float64, na_value=np.nan)
        return converted
    return np.asarray(values, dtype=np.float64)


def build_preprocessor(schema: FeatureSchema) -> ColumnTransformer:
    """Build the (unfitted) preprocessing ColumnTransformer for a schema.

    Numeric columns: float conversion, ``SimpleImputer(strategy="median")``, ``StandardScaler``.
    Categorical columns: conversion to strings (nulls kept missing), ``SimpleImputer`` with the
    constant :data:`MISSING_CATEGORY`, ``OneHotEncoder(handle_unknown="ignore")`` to dense output.
    Output columns are the numeric features in schema order, then one column per (categorical
    feature, category) pair. Fit it on the training split only.

    Args:
        schema: The feature schema.

    Returns:
        The unfitted ColumnTransformer; fitting it on a DataFrame requires the schema's columns.

    Raises:
        ValueError: If the schema has no feature columns.
    """
    transformers: list[tuple[str, Pipeline, list[str]]] = []
    if schema.numeric_features:
        numeric = Pipeline(
            [
                (
                    "to_float",
                    FunctionTransformer(_numeric_as_float, feature_names_out="one-to-one"),
                ),
                # keep_empty_features: a column that happens to be all-null in the training split
                # must still produce an output column, or the model's input width would change.
                ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                ("scale", StandardScaler()),
            ]
        )
        transformers.append(("numeric", numeric, list(schema.numeric_features)))
    if schema.categorical_features:
        categorical = Pipeline(
            [
                (
                    "to_str",
                    FunctionTransformer(categorical_as_strings, feature_names_out="one-to-one"),
                ),
                ("impute", SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY)),
                ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
            ]
        )
        transformers.append(("categorical", categorical, list(schema.categorical_features)))
    if not transformers:
        raise ValueError("the feature schema has no feature columns")
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)
