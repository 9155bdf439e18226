"""Data contract: load the training table, validate it, infer its feature schema and split it.

Every check raises :class:`~tabular_classifier.errors.DataValidationError` naming the file and
the column, so a bad data version fails the pipeline at the first step with an actionable
message instead of deep inside scikit-learn or torch.
"""

import csv
import gzip
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.model_selection import train_test_split

from tabular_classifier.config import DataConfig, SplitConfig
from tabular_classifier.errors import DataValidationError

Label = str | int | float | bool

NUMERIC_LOOKING_FRACTION = 0.95
"""An object column is numeric when at least this fraction of its non-null values parse as
numbers. Our own heuristic: a numeric column with a few typos (under 5 %) is reported as dirty
numeric data instead of being silently one-hot encoded into hundreds of categories."""

MIN_ROWS_PER_CLASS_PER_SPLIT = 2
"""Each of train, validation and test needs this many rows of each class: ROC AUC needs both
classes, and stratified splitting needs at least two members per class."""

_PREVIEW = 10


def _preview(items: list[str]) -> str:
    shown = ", ".join(repr(item) for item in items[:_PREVIEW])
    return shown + (f", ... ({len(items)} in all)" if len(items) > _PREVIEW else "")


def _to_python(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _label_key(value: Any) -> str:
    """Canonical text of a class label, so that ``"1"``, ``1``, ``1.0`` and ``True`` compare equal.

    Config files and data files disagree on types all the time (YAML ``1`` against a CSV column
    read as strings, ``true`` against a boolean column), so labels are matched on this key.
    """
    value = _to_python(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value).strip()
    if text.lower() in ("true", "false"):
        return "1" if text.lower() == "true" else "0"
    try:
        number = float(text)
    except ValueError:
        return text
    return _label_key(number) if math.isfinite(number) else text


@dataclass(frozen=True)
class FeatureSchema:
    """The columns a model consumes and the meaning of its target.

    Attributes:
        target: Name of the binary target column.
        positive_label: The target value encoded as 1, as found in the data (JSON-safe scalar).
        negative_label: The other target value, encoded as 0.
        numeric_features: Columns imputed with the median and standardised.
        categorical_features: Columns one-hot encoded.
        dropped_columns: Columns of the training table that are neither the target nor a
            feature (``drop_columns`` plus anything left out of declared feature lists).
    """

    target: str
    positive_label: Label
    negative_label: Label
    numeric_features: list[str]
    categorical_features: list[str]
    dropped_columns: list[str] = field(default_factory=list)

    @property
    def feature_columns(self) -> list[str]:
        """All feature columns: the numeric ones first, then the categorical ones."""
        return [*self.numeric_features, *self.categorical_features]

    def to_dict(self) -> dict[str, Any]:
        """Return the schema as a JSON-safe dictionary (the inverse of :meth:`from_dict`)."""
        return {
            "target": self.target,
            "positive_label": self.positive_label,
            "negative_label": self.negative_label,
            "numeric_features": list(self.numeric_features),
            "categorical_features": list(self.categorical_features),
            "dropped_columns": list(self.dropped_columns),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "FeatureSchema":
        """Rebuild a schema from :meth:`to_dict` output.

        Args:
            d: Mapping with the keys written by :meth:`to_dict`.

        Returns:
            The schema.

        Raises:
            ValueError: If a key is missing or unknown, or a value has the wrong type.
        """
        expected = {
            "target",
            "positive_label",
            "negative_label",
            "numeric_features",
            "categorical_features",
            "dropped_columns",
        }
        if set(d) != expected:
            raise ValueError(f"feature schema: expected keys {sorted(expected)}, got {sorted(d)}")
        for key in ("positive_label", "negative_label"):
            if not isinstance(d[key], str | int | float | bool):
                raise ValueError(f"feature schema: key '{key}' must be a scalar, got {d[key]!r}")
        lists: dict[str, list[str]] = {}
        for key in ("numeric_features", "categorical_features", "dropped_columns"):
            value = d[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"feature schema: key '{key}' must be a list of strings")
            lists[key] = list(value)
        if not isinstance(d["target"], str):
            raise ValueError("feature schema: key 'target' must be a string")
        return cls(
            target=d["target"],
            positive_label=d["positive_label"],
            negative_label=d["negative_label"],
            **lists,
        )


def _csv_header(path: Path, source: str) -> list[str]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        # utf-8-sig: pandas strips a byte-order mark from the first column name, so must we.
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), None)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise DataValidationError(source, None, f"cannot read the CSV header: {exc}") from exc
    if header is None:
        raise DataValidationError(source, None, "the file is empty (no header row)")
    return header


def _read_csv(path: Path, source: str, na_values: list[str]) -> pd.DataFrame:
    # pandas renames a repeated header ("a", "a" becomes "a", "a.1"), hiding the duplicate, so
    # the header is read separately to catch it.
    _raise_on_duplicates(_csv_header(path, source), source)
    try:
        # low_memory=False: chunked type inference gives a column mixed dtypes on large files.
        return pd.read_csv(path, low_memory=False, na_values=na_values or None)
    except pd.errors.EmptyDataError as exc:
        raise DataValidationError(source, None, "the file is empty (no columns)") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise DataValidationError(source, None, f"cannot parse the CSV file: {exc}") from exc


def _read_parquet(path: Path, source: str) -> pd.DataFrame:
    try:
        columns = pq.read_schema(path).names
    except (pa.ArrowException, OSError) as exc:
        raise DataValidationError(source, None, f"cannot read the Parquet file: {exc}") from exc
    _raise_on_duplicates(columns, source)
    try:
        return pd.read_parquet(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataValidationError(source, None, f"cannot read the Parquet file: {exc}") from exc


def _raise_on_duplicates(columns: list[str], source: str) -> None:
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            count = columns.count(column)
            raise DataValidationError(
                source, column, f"duplicate column name (appears {count} times in the header)"
            )
        seen.add(column)


def load_table(cfg: DataConfig) -> pd.DataFrame:
    """Read the table named by a data config.

    Args:
        cfg: The data config; ``cfg.path`` is used verbatim as the source in error messages.

    Returns:
        The table, with pandas' default dtypes and a RangeIndex (row labels 0..n-1).

    Raises:
        DataValidationError: If the format cannot be inferred, the file is missing, not a
            regular file, empty (0 bytes, no header, or no data rows) or unreadable, or if a
            column name appears twice (the message names the duplicated column).
    """
    return read_table(cfg.path, cfg.resolved_file_format(), cfg.na_values)


def read_table(
    path_name: str, file_format: str | None = None, na_values: list[str] | None = None
) -> pd.DataFrame:
    """Read a CSV or Parquet file with the same checks as :func:`load_table`.

    Args:
        path_name: The file; used verbatim as the source in error messages.
        file_format: ``"csv"`` or ``"parquet"``; None infers it from the suffix.
        na_values: Extra strings read as missing values (CSV only).

    Returns:
        The table, with a RangeIndex.

    Raises:
        DataValidationError: As :func:`load_table`.
    """
    if file_format is None:
        file_format = DataConfig(
            path=path_name, target="_", positive_label="_"
        ).resolved_file_format()
    source = path_name
    path = Path(path_name)
    if not path.exists():
        raise DataValidationError(source, None, "file not found")
    if not path.is_file():
        raise DataValidationError(source, None, "not a regular file")
    if path.stat().st_size == 0:
        raise DataValidationError(source, None, "the file is empty (0 bytes)")
    frame = (
        _read_csv(path, source, list(na_values or []))
        if file_format == "csv"
        else _read_parquet(path, source)
    )
    if len(frame) == 0:
        raise DataValidationError(source, None, "the file has a header but no data rows")
    return frame


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


def _check_numeric(series: pd.Series, source: str, column: str) -> None:
    if pd.api.types.is_bool_dtype(series.dtype):
        return
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        parsed = pd.to_numeric(series.astype(object), errors="coerce")
        bad = (series.notna() & parsed.isna()).to_numpy()
        if bad.any():
            positions = np.flatnonzero(bad)
            first = int(positions[0])
            total = f" ({len(positions)} non-numeric values in all)" if len(positions) > 1 else ""
            raise DataValidationError(
                source,
                column,
                f"non-numeric value {_to_python(series.iloc[first])!r} at row "
                f"{_to_python(series.index[first])}{total} (rows count from 0, header "
                "excluded; list placeholder strings such as ' ' or '?' under data.na_values "
                "to read them as missing)",
            )
        values = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        first = int(np.argmax(infinite))
        raise DataValidationError(
            source,
            column,
            f"non-finite value {values[first]} at row {_to_python(series.index[first])}",
        )


def _resolve_labels(
    classes: list[Any], positive_label: Label, source: str, target: str
) -> tuple[Label, Label]:
    for value in classes:
        if not isinstance(value, str | int | float | bool):
            raise DataValidationError(
                source, target, f"unsupported target value {value!r} of type {type(value).__name__}"
            )
    keys = [_label_key(value) for value in classes]
    if keys[0] == keys[1]:
        raise DataValidationError(
            source,
            target,
            f"the target classes {classes[0]!r} and {classes[1]!r} are the same value once "
            "types are coerced; clean the column",
        )
    wanted = _label_key(positive_label)
    if wanted not in keys:
        raise DataValidationError(
            source,
            target,
            f"positive_label {positive_label!r} is absent from the target, whose classes are "
            f"{classes[0]!r} and {classes[1]!r}"
            + (
                " (YAML reads unquoted yes/no/true/false/on/off as booleans: quote the label)"
                if isinstance(positive_label, bool)
                else ""
            ),
        )
    index = keys.index(wanted)
    return classes[index], classes[1 - index]


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

    Checks, in order: unique column names, at least one row, the target exists, has no nulls
    and exactly two classes, the positive label is one of them, declared feature and drop
    columns exist, no feature is entirely null, and numeric features hold only finite numbers
    (or nulls, which are imputed later).

    Feature lists: when both ``cfg.numeric_features`` and ``cfg.categorical_features`` are None,
    every column except the target and ``cfg.drop_columns`` is a feature; numeric dtypes are
    numeric, booleans and categoricals are categorical, and object/string columns are numeric
    when at least :data:`NUMERIC_LOOKING_FRACTION` of their non-null values parse as numbers
    (the rest are then reported as non-numeric values), categorical otherwise. When only one list
    is given, the other takes every remaining column.

    Args:
        df: The table, e.g. from :func:`load_table`. Row numbers in messages are its index labels.
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
    _raise_on_duplicates(columns, source)
    if len(df) == 0:
        raise DataValidationError(source, None, "the table has no rows")
    target = cfg.target
    if target not in df.columns:
        raise DataValidationError(
            source, target, f"target column not found; the columns are {_preview(columns)}"
        )
    y = df[target]
    nulls = y.isna().to_numpy()
    if nulls.any():
        first_null = _to_python(y.index[int(np.argmax(nulls))])
        raise DataValidationError(
            source,
            target,
            f"{int(nulls.sum())} null values in the target (first at row {first_null})",
        )
    counts = y.value_counts()
    classes = [_to_python(value) for value in counts.index]
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
    positive, negative = _resolve_labels(classes, cfg.positive_label, source, target)
    for list_name in ("numeric_features", "categorical_features", "drop_columns"):
        declared: list[str] = getattr(cfg, list_name) or []
        absent = [c for c in declared if c not in df.columns]
        if absent:
            also = f" (also absent: {_preview(absent[1:])})" if len(absent) > 1 else ""
            raise DataValidationError(
                source, absent[0], f"listed in {list_name} but absent from the table{also}"
            )
    numeric, categorical = _feature_lists(df, cfg, source)
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


def encode_target(y: pd.Series, schema: FeatureSchema) -> np.ndarray:
    """Encode target values as 1 (positive label) and 0 (negative label).

    Values are matched with the same type coercion as the positive label in the config, so a
    target read as strings still encodes against labels inferred from integers.

    Args:
        y: Target values, shape (n,), any dtype.
        schema: The schema whose labels define the encoding.

    Returns:
        int64 array of shape (n,) with 1 for the positive label and 0 for the negative one.

    Raises:
        ValueError: If a value is null or is neither of the two labels.
    """
    codes, uniques = pd.factorize(y, use_na_sentinel=True)
    if (codes < 0).any():
        raise ValueError(f"column '{schema.target}': null values in the target")
    positive_key = _label_key(schema.positive_label)
    negative_key = _label_key(schema.negative_label)
    mapping = np.empty(len(uniques), dtype=np.int64)
    for index, value in enumerate(uniques):
        key = _label_key(value)
        if key not in (positive_key, negative_key):
            raise ValueError(
                f"column '{schema.target}': value {_to_python(value)!r} is neither the positive "
                f"label {schema.positive_label!r} nor the negative label {schema.negative_label!r}"
            )
        mapping[index] = 1 if key == positive_key else 0
    encoded: np.ndarray = mapping[codes]
    return encoded


def split_data(
    df: pd.DataFrame, schema: FeatureSchema, split: SplitConfig, source: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split a validated table into stratified train, validation and test sets.

    The test split is drawn first (``split.test_size`` of all rows), then the validation split
    from the rest (``split.val_size`` of all rows), both with scikit-learn's
    ``train_test_split(stratify=...)`` and ``random_state=split.random_state``, so the same table
    and config always give the same splits.

    Args:
        df: A table that passed :func:`validate_and_infer_schema`.
        schema: Its schema.
        split: Split fractions and seed.
        source: Name of the data source used in error messages.

    Returns:
        (train, val, test) frames with all the columns of ``df`` and fresh RangeIndexes.

    Raises:
        DataValidationError: If a class has fewer rows than needed for every split to get
            :data:`MIN_ROWS_PER_CLASS_PER_SPLIT` rows of it; the message names the target column
            and gives the rows needed against those available.
        ValueError: If a target value is null or is neither label (see :func:`encode_target`).
    """
    y = encode_target(df[schema.target], schema)
    counts = np.bincount(y, minlength=2)
    train_size = 1.0 - split.test_size - split.val_size
    smallest = min(split.test_size, split.val_size, train_size)
    # round(): a ratio such as 2 / 0.2 may land a hair above 10 in floating point; ceil must not
    # turn that into 11.
    needed = math.ceil(round(MIN_ROWS_PER_CLASS_PER_SPLIT / smallest, 9))
    labels = (schema.negative_label, schema.positive_label)
    fractions = f"train/val/test = {train_size:.2f}/{split.val_size:.2f}/{split.test_size:.2f}"
    for label, count in zip(labels, counts, strict=True):
        if count < needed:
            raise DataValidationError(
                source,
                schema.target,
                f"fewer rows than the split needs: class {label!r} has {count} rows, but "
                f"{fractions} needs at least {needed} so that each split gets "
                f"{MIN_ROWS_PER_CLASS_PER_SPLIT}",
            )
    positions = np.arange(len(df))
    rest, test_positions = train_test_split(
        positions, test_size=split.test_size, stratify=y, random_state=split.random_state
    )
    train_positions, val_positions = train_test_split(
        rest,
        test_size=split.val_size / (1.0 - split.test_size),
        stratify=y[rest],
        random_state=split.random_state,
    )
    parts = {"train": train_positions, "val": val_positions, "test": test_positions}
    for name, part in parts.items():
        part_counts = np.bincount(y[part], minlength=2)
        # Stratified rounding can still leave a split one row short near the threshold.
        if part_counts.min() < MIN_ROWS_PER_CLASS_PER_SPLIT:
            raise DataValidationError(
                source,
                schema.target,
                f"fewer rows than the split needs: the {name} split got {part_counts[0]} rows of "
                f"{labels[0]!r} and {part_counts[1]} of {labels[1]!r}, but needs at least "
                f"{MIN_ROWS_PER_CLASS_PER_SPLIT} of each",
            )
    train, val, test = (df.iloc[parts[name]].reset_index(drop=True) for name in parts)
    return train, val, test
