"""Data validation: check the training table against the data contract and infer its schema.

Every check raises :class:`~tabular_classifier.errors.DataValidationError` naming the file and
the column, so a bad data version fails the pipeline at the first step with an actionable
message instead of deep inside scikit-learn or torch.
"""

import difflib
import re
from typing import Literal

import numpy as np
import pandas as pd

from tabular_classifier.config import DataConfig
from tabular_classifier.errors import DataValidationError
from tabular_classifier.feature_schema import FeatureSchema
from tabular_classifier.labels import resolve_labels, to_python_scalar
from tabular_classifier.table_reader import raise_on_duplicate_columns

NUMERIC_LOOKING_FRACTION = 0.95
"""An object column is numeric when at least this fraction of its non-null values parse as
numbers. Our own heuristic: a numeric column with a few typos (under 5 %) is reported as dirty
numeric data instead of being silently one-hot encoded into hundreds of categories."""

_PREVIEW = 10
_UNNAMED = re.compile(r"Unnamed: \d+")
"""The name pandas' CSV reader gives a column whose header is empty (``Unnamed: 0`` for the
index column that ``DataFrame.to_csv()`` writes by default)."""


def _preview(items: list[str]) -> str:
    shown = ", ".join(repr(item) for item in items[:_PREVIEW])
    return shown + (f", ... ({len(items)} in all)" if len(items) > _PREVIEW else "")


def _infer_kind(series: pd.Series, source: str, column: str) -> Literal["numeric", "categorical"]:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if not (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)):
        raise DataValidationError(
            source,
            column,
            f"unsupported dtype {dtype}; convert the column or list it in drop_columns",
        )
    values = series.dropna()
    if len(values) == 0 or all(isinstance(v, bool | np.bool_) for v in values):
        return "categorical"
    parsed = pd.to_numeric(values, errors="coerce")
    return "numeric" if parsed.notna().mean() >= NUMERIC_LOOKING_FRACTION else "categorical"


def _as_numbers(series: pd.Series, source: str, column: str, hint: str | None = None) -> pd.Series:
    """The column as numbers: numeric dtypes as they are, text parsed; errors name the row."""
    if pd.api.types.is_bool_dtype(series.dtype):
        raise DataValidationError(
            source,
            column,
            "holds booleans but is a numeric feature; list it under categorical_features "
            "(booleans are one-hot encoded)",
        )
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series
    parsed = pd.to_numeric(series.astype(object), errors="coerce")
    bad = (series.notna() & parsed.isna()).to_numpy()
    if bad.any():
        positions = np.flatnonzero(bad)
        first = int(positions[0])
        total = f" ({len(positions)} non-numeric values in all)" if len(positions) > 1 else ""
        raise DataValidationError(
            source,
            column,
            f"non-numeric value {to_python_scalar(series.iloc[first])!r} at row "
            f"{to_python_scalar(series.index[first])}{total} ({hint or _placeholder_hint(source)})",
        )
    return parsed


def _placeholder_hint(source: str) -> str:
    """How to read placeholder values as missing: ``na_values`` works for CSV files only."""
    if str(source).lower().endswith((".parquet", ".pq")):
        return (
            "rows count from 0; data.na_values applies to CSV files only: store missing values "
            "as nulls in the Parquet file, or list the column under categorical_features"
        )
    return (
        "rows count from 0, header excluded; list placeholder strings such as ' ' or '?' "
        "under data.na_values to read them as missing"
    )


def _check_numeric(series: pd.Series, source: str, column: str) -> None:
    values = _as_numbers(series, source, column).to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        first = int(np.argmax(infinite))
        raise DataValidationError(
            source,
            column,
            f"non-finite value {values[first]} at row {to_python_scalar(series.index[first])}",
        )


def coerce_numeric_text(
    df: pd.DataFrame, columns: list[str], source: str, hint: str | None = None
) -> pd.DataFrame:
    """Turn numeric features written as text into numbers, as a file reader must.

    CSV is text, and a Parquet file may store numbers as strings; the row contract
    (``tabular_classifier.contract``) takes numbers only, so every file-reading entry point
    (training's split, batch inference, monitoring of a CSV window) converts here first.

    Args:
        df: The table as read.
        columns: Its numeric features.
        source: The file, for error messages.
        hint: What a non-numeric value's message advises, in parentheses; by default, how the
            training data config reads placeholders as missing (``data.na_values``).

    Returns:
        ``df`` itself when nothing needed converting, else a copy whose text columns among
        ``columns`` are float64 or int64.

    Raises:
        DataValidationError: If a value is not a number (naming the file, column and row) or a
            column holds booleans.
    """
    converted: dict[str, pd.Series] = {}
    for column in columns:
        series = df[column]
        numbers = _as_numbers(series, source, column, hint)
        if numbers is not series:
            converted[column] = numbers
    return df.assign(**converted) if converted else df


def _feature_lists(df: pd.DataFrame, cfg: DataConfig, source: str) -> tuple[list[str], list[str]]:
    excluded = {cfg.target, *cfg.drop_columns}
    if cfg.numeric_features is None and cfg.categorical_features is None:
        numeric: list[str] = []
        categorical: list[str] = []
        for column in df.columns:
            if column in excluded:
                continue
            kind = _infer_kind(df[column], source, column)
            (numeric if kind == "numeric" else categorical).append(column)
        return numeric, categorical
    declared = {*(cfg.numeric_features or []), *(cfg.categorical_features or [])}
    remaining = [c for c in df.columns if c not in excluded and c not in declared]
    numeric = list(cfg.numeric_features) if cfg.numeric_features is not None else remaining
    categorical = (
        list(cfg.categorical_features) if cfg.categorical_features is not None else remaining
    )
    return numeric, categorical


def validate_and_infer_schema(df: pd.DataFrame, cfg: DataConfig, source: str) -> FeatureSchema:
    """Check a table against the data contract and work out its feature schema.

    Checks, in order: unique column names, at least one row, the target exists (else close
    names are suggested), has no nulls and exactly two classes, the positive label is one of
    them, declared feature and drop columns exist, no inferred feature is a headerless column
    (``Unnamed: 0``: a written index, unless listed as a feature), no feature is entirely null,
    and numeric features hold only finite numbers (or nulls, which are imputed later).

    Feature lists: when both ``cfg.numeric_features`` and ``cfg.categorical_features`` are None,
    every column except the target and ``cfg.drop_columns`` is a feature; numeric dtypes are
    numeric, booleans and categoricals are categorical, and object/string columns are numeric
    when at least :data:`NUMERIC_LOOKING_FRACTION` of their non-null values parse as numbers
    (the rest are then reported as non-numeric values), categorical otherwise. When only one list
    is given, the other takes every remaining column.

    Args:
        df: The table, e.g. from :func:`~tabular_classifier.table_reader.load_table`. Row
            numbers in messages are its index labels.
        cfg: The data config.
        source: Name of the data source (usually the file path) used in error messages.

    Returns:
        The schema, with the labels as JSON-safe Python scalars taken from the data.

    Raises:
        DataValidationError: On the first failed check; the message names ``source`` and the
            column (and, for a bad value, the row and the value).
    """
    for column in df.columns:
        if not isinstance(column, str):
            raise DataValidationError(source, str(column), "column names must be strings")
    columns: list[str] = list(df.columns)
    raise_on_duplicate_columns(columns, source)
    if len(df) == 0:
        raise DataValidationError(source, None, "the table has no rows")
    target = cfg.target
    if target not in df.columns:
        close = difflib.get_close_matches(target, columns, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise DataValidationError(
            source,
            target,
            f"target column not found{hint}; the columns are {_preview(columns)}",
        )
    y = df[target]
    nulls = y.isna().to_numpy()
    if nulls.any():
        first_null = to_python_scalar(y.index[int(np.argmax(nulls))])
        raise DataValidationError(
            source,
            target,
            f"{int(nulls.sum())} null values in the target (first at row {first_null})",
        )
    counts = y.value_counts()
    classes = [to_python_scalar(value) for value in counts.index]
    if len(classes) == 1:
        raise DataValidationError(
            source,
            target,
            f"the target has a single class {classes[0]!r}; binary classification needs two",
        )
    if len(classes) > 2:
        listed = [f"{value!r} ({count})" for value, count in zip(classes, counts, strict=True)]
        raise DataValidationError(
            source,
            target,
            f"the target has {len(classes)} classes, expected exactly 2: "
            + ", ".join(listed[:_PREVIEW])
            + (", ..." if len(listed) > _PREVIEW else ""),
        )
    positive, negative = resolve_labels(classes, cfg.positive_label, source, target)
    for list_name in ("numeric_features", "categorical_features", "drop_columns"):
        declared: list[str] = getattr(cfg, list_name) or []
        absent = [c for c in declared if c not in df.columns]
        if absent:
            also = f" (also absent: {_preview(absent[1:])})" if len(absent) > 1 else ""
            raise DataValidationError(
                source, absent[0], f"listed in {list_name} but absent from the table{also}"
            )
    numeric, categorical = _feature_lists(df, cfg, source)
    named_features = {*(cfg.numeric_features or []), *(cfg.categorical_features or [])}
    for column in [*numeric, *categorical]:
        if column not in named_features and _UNNAMED.fullmatch(column):
            raise DataValidationError(
                source,
                column,
                "a column without a header name (pandas names one so), usually the row index "
                "that `DataFrame.to_csv()` writes unless given index=False; training on it "
                "would learn the row order. List it under drop_columns, or under "
                "numeric_features/categorical_features if it really is a feature",
            )
    if not numeric and not categorical:
        raise DataValidationError(
            source, None, "no feature columns remain once the target and drop_columns are removed"
        )
    for column in [*numeric, *categorical]:
        if df[column].isna().all():
            raise DataValidationError(source, column, "all values are null")
    for column in numeric:
        _check_numeric(df[column], source, column)
    used = {target, *numeric, *categorical}
    return FeatureSchema(
        target=target,
        positive_label=positive,
        negative_label=negative,
        numeric_features=numeric,
        categorical_features=categorical,
        dropped_columns=[c for c in columns if c not in used],
    )
