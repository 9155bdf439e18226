"""Batch scoring: a CSV or Parquet file read through a model's row contract, then scored.

The same contract as online serving decides what a valid row is
(``tabular_classifier.contract``); a file reader's only extra job is turning a CSV file's text
into numbers, with the training data's ``na_values``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from tabular_classifier.config import DataConfig
from tabular_classifier.contract import ErrorKind, RowContract
from tabular_classifier.data_validation import coerce_numeric_text
from tabular_classifier.errors import DataValidationError, InputValidationError
from tabular_classifier.predictor import Predictor
from tabular_classifier.table_reader import read_table

PROBABILITY = "probability"
LABEL = "label"
UNKNOWN_CATEGORIES = "unknown_categories"
BATCH_PLACEHOLDER_HINT = (
    "rows count from 0, header excluded; correct the value in this file. If it stands for a "
    "missing value, leave the cell empty (the model imputes it as in training) or, for a "
    "placeholder the model should always read as missing, list it under data.na_values in "
    "the training run config and train again: a batch CSV is read with the model's na_values"
)
"""What a non-numeric value in a batch CSV advises: the batch config has no ``na_values``."""


def as_data_error(source: str, error: InputValidationError) -> DataValidationError:
    """A row-contract error about a file, as a ``DataValidationError`` naming the file.

    Args:
        source: The file.
        error: The contract's error.

    Returns:
        The same message, prefixed with the file; ``column`` is kept.
    """
    prefix = f"column '{error.column}': "
    detail = str(error)
    if error.column is not None and detail.startswith(prefix):
        detail = detail[len(prefix) :]
    return DataValidationError(source, error.column, detail)


def read_batch(path: str, contract: RowContract, passthrough: Sequence[str] = ()) -> pd.DataFrame:
    """Read a batch file and check every row against the row contract, before any scoring.

    Args:
        path: A CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``) file.
        contract: The model version's row contract.
        passthrough: Extra columns (IDs, timestamps) carried to the output but not scored; any
            other column the contract does not know is refused.

    Returns:
        The batch with the file's columns in the file's order: features in their logical
        dtypes (``ParsedRows.storage_frame``: float64, Int64, boolean, str), other columns as
        read, ``category`` columns turned into plain values (a ``category`` column in the
        prediction log breaks later reads).

    Raises:
        DataValidationError: Naming the file, and the column and row where one is at fault:
            a missing, empty or unreadable file, a passthrough column that is absent or is a
            feature, text that is not a number in a numeric feature, or any row-contract
            violation.
    """
    file_format = DataConfig(path=path, target="_", positive_label="_").resolved_file_format()
    frame = read_table(path, file_format, na_values=list(contract.na_values))
    for column in passthrough:
        if column not in frame.columns:
            raise DataValidationError(path, column, "listed in passthrough_columns but absent")
        if column in contract.names:
            raise DataValidationError(
                path, column, "listed in passthrough_columns but is a feature of the model"
            )
    if file_format == "csv":
        # CSV is text: its numbers are parsed here. A Parquet file is typed, and a string in
        # one of its number columns is a wrong type, as it is in a JSON request.
        numeric = [c for c in contract.numeric_features if c in frame.columns]
        frame = coerce_numeric_text(frame, numeric, path, BATCH_PLACEHOLDER_HINT)
    try:
        rows = contract.parse_frame(frame.drop(columns=list(passthrough)))
    except InputValidationError as exc:
        error = as_data_error(path, exc)
        if exc.kind == ErrorKind.UNKNOWN_COLUMN:
            # An ID or timestamp column is the usual cause (walkthrough): say how to keep it.
            error = DataValidationError(
                path,
                exc.column,
                f"{error.detail}; to carry such columns (IDs, timestamps) to the output without "
                "scoring them, list them under passthrough_columns in the run config",
            )
        raise error from exc
    features = rows.storage_frame()
    out = {
        column: features[column] if column in features.columns else _plain(frame[column])
        for column in frame.columns
    }
    return pd.DataFrame(out, index=frame.index)


def _plain(series: pd.Series) -> pd.Series:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.astype(object).infer_objects()
    return series


def score_batch_frame(
    predictor: Predictor, batch: pd.DataFrame, passthrough: Sequence[str] = ()
) -> pd.DataFrame:
    """Score a batch read by :func:`read_batch`.

    Args:
        predictor: The model version's predictor.
        batch: From :func:`read_batch` with the same contract and passthrough columns.
        passthrough: The columns not scored.

    Returns:
        ``batch`` plus ``probability`` (float64, in [0, 1]), ``label`` (str, at the bundle's
        decision threshold) and ``unknown_categories`` (int64: the row's values never seen in
        training).

    Raises:
        InputValidationError: If ``batch`` breaks the contract (not after :func:`read_batch`).
    """
    rows = predictor.contract.parse_frame(batch.drop(columns=list(passthrough)))
    probability = predictor.score(rows)
    out = batch.copy()
    out[PROBABILITY] = probability
    out[LABEL] = np.array([str(label) for label in predictor.labels(probability)], dtype=object)
    out[UNKNOWN_CATEGORIES] = rows.unknown_per_row()
    return out
