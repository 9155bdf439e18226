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
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

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


def label_key(value: Any) -> str:
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
    return label_key(number) if math.isfinite(number) else text


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

    CONTRACT_KEYS: ClassVar[tuple[str, ...]] = (
        "target",
        "positive_label",
        "numeric_features",
        "categorical_features",
    )
    """What makes two models interchangeable: the same target, positive class and features."""

    def contract_differences(self, other: Mapping[str, Any]) -> list[str]:
        """The :data:`CONTRACT_KEYS` on which ``other`` (a :meth:`to_dict` mapping) differs.

        A model version trained on another contract cannot be compared with, or replace, one
        trained on this one: the registry keeps them apart as different models.

        Args:
            other: Another schema's :meth:`to_dict` (for example a model version's stored
                ``feature_schema`` metadata).

        Returns:
            The differing keys, in :data:`CONTRACT_KEYS` order; empty when they agree.
        """
        mine = self.to_dict()
        return [key for key in self.CONTRACT_KEYS if other.get(key) != mine[key]]

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


def _as_numbers(series: pd.Series, source: str, column: str) -> pd.Series:
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
            f"non-numeric value {_to_python(series.iloc[first])!r} at row "
            f"{_to_python(series.index[first])}{total} (rows count from 0, header "
            "excluded; list placeholder strings such as ' ' or '?' under data.na_values "
            "to read them as missing)",
        )
    return parsed


def _check_numeric(series: pd.Series, source: str, column: str) -> None:
    values = _as_numbers(series, source, column).to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        first = int(np.argmax(infinite))
        raise DataValidationError(
            source,
            column,
            f"non-finite value {values[first]} at row {_to_python(series.index[first])}",
        )


def coerce_numeric_text(df: pd.DataFrame, columns: list[str], source: str) -> pd.DataFrame:
    """Turn numeric features written as text into numbers, as a file reader must.

    CSV is text, and a Parquet file may store numbers as strings; the row contract
    (``tabular_classifier.contract``) takes numbers only, so every file-reading entry point
    (training's split, batch inference, monitoring of a CSV window) converts here first.

    Args:
        df: The table as read.
        columns: Its numeric features.
        source: The file, for error messages.

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
        numbers = _as_numbers(series, source, column)
        if numbers is not series:
            converted[column] = numbers
    return df.assign(**converted) if converted else df


def _resolve_labels(
    classes: list[Any], positive_label: Label, source: str, target: str
) -> tuple[Label, Label]:
    for value in classes:
        if not isinstance(value, str | int | float | bool):
            raise DataValidationError(
                source, target, f"unsupported target value {value!r} of type {type(value).__name__}"
            )
    keys = [label_key(value) for value in classes]
    if keys[0] == keys[1]:
        raise DataValidationError(
            source,
            target,
            f"the target classes {classes[0]!r} and {classes[1]!r} are the same value once "
            "types are coerced; clean the column",
        )
    wanted = label_key(positive_label)
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
    positive_key = label_key(schema.positive_label)
    negative_key = label_key(schema.negative_label)
    mapping = np.empty(len(uniques), dtype=np.int64)
    for index, value in enumerate(uniques):
        key = label_key(value)
        if key not in (positive_key, negative_key):
            raise ValueError(
                f"column '{schema.target}': value {_to_python(value)!r} is neither the positive "
                f"label {schema.positive_label!r} nor the negative label {schema.negative_label!r}"
            )
        mapping[index] = 1 if key == positive_key else 0
    encoded: np.ndarray = mapping[codes]
    return encoded


SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
"""The split of each row as a small integer, in :func:`assign_splits`' output."""


def _mix64(values: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer (Steele, Lea and Flood 2014): a bijection that scrambles bits."""
    z = values.copy()
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


def split_key_columns(df: pd.DataFrame, schema: FeatureSchema, split: SplitConfig) -> list[str]:
    """The columns a row's split is computed from: ``split.key_columns``, or features + target."""
    return (
        list(split.key_columns) if split.key_columns else [*schema.feature_columns, schema.target]
    )


def row_key_hashes(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """A 64-bit hash of each row's key, by value rather than by dtype.

    Numbers and booleans are hashed as float64 (so ``3``, ``3.0`` and a nullable ``Int64`` 3
    agree, and an integer column that gains a null in new rows keeps every old row's hash);
    anything else is hashed as its text. Nulls of every kind hash alike.

    Args:
        df: The table.
        columns: The key columns, in order.

    Returns:
        uint64 array of shape (len(df),).

    Raises:
        KeyError: If a key column is missing.
    """
    # pandas' hash_pandas_object of a frame, one column at a time: each column's hash is
    # combined as pandas' combine_hash_arrays (CPython's tuple hash) does, so the result is
    # bit-identical to hashing the whole canonical frame, without building that copy of the
    # table (tests/unit/test_data_validation.py checks the identity).
    out = np.full(len(df), 0x345678, dtype=np.uint64)
    mult = np.uint64(1000003)
    with np.errstate(over="ignore"):
        for i, name in enumerate(columns):
            column = df[name]
            values: np.ndarray
            if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
                values = column.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
                values = values + 0.0  # -0.0 hashes as 0.0
            else:
                values = column.astype("string").fillna("\x00null").to_numpy(dtype=object)
            hashed = pd.util.hash_pandas_object(pd.Series(values, copy=False), index=False)
            out ^= hashed.to_numpy(dtype=np.uint64)
            out *= mult
            inverse = len(columns) - i
            mult += np.uint64(82520 + inverse + inverse)
        out += np.uint64(97531)
    return out


def assign_splits(df: pd.DataFrame, schema: FeatureSchema, split: SplitConfig) -> np.ndarray:
    """The split of every row, from a hash of the row's key alone.

    Each row's key columns are hashed with pandas' ``hash_pandas_object`` (which combines the
    columns' hashes per row), the salt ``split.random_state`` is mixed in with splitmix64's
    finalizer, and the 64-bit result, read as a number u in [0, 1), decides:
    test when u < ``test_size``, validation when u < ``test_size + val_size``, train otherwise.
    A row's split therefore depends on its own content (or ID) and the salt only: it stays the
    same across model versions and seeds and when rows are added, and identical rows always
    share a split, so a duplicated row never lands in both train and test. Class proportions
    are not forced, only expected: each split draws both classes at their overall rates.

    Args:
        df: The table (any columns that include the key columns).
        schema: Its schema (for the default key: features and target).
        split: Fractions, salt and key columns.

    Returns:
        int8 array of shape (len(df),) holding :data:`SPLIT_CODES` values.

    Raises:
        KeyError: If a key column is missing.
    """
    hashes = row_key_hashes(df, split_key_columns(df, schema, split))
    with np.errstate(over="ignore"):
        salted = hashes + np.uint64(split.random_state) * np.uint64(0x9E3779B97F4A7C15)
    hashes = _mix64(salted)
    # The top 53 bits as a double in [0, 1): exact, and uniform like the hash.
    u = (hashes >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    codes = np.full(len(df), SPLIT_CODES["train"], dtype=np.int8)
    codes[u < split.test_size + split.val_size] = SPLIT_CODES["val"]
    codes[u < split.test_size] = SPLIT_CODES["test"]
    return codes


def split_codes(
    df: pd.DataFrame, schema: FeatureSchema, split: SplitConfig, source: str
) -> np.ndarray:
    """The split of every row of a validated table, checked to give each split both classes.

    See :func:`assign_splits` for the rule. Numeric features written as text are read as
    numbers first (:func:`coerce_numeric_text`), so the hash sees the values the model does.

    Args:
        df: A table that passed :func:`validate_and_infer_schema`.
        schema: Its schema.
        split: Split fractions, salt and key columns.
        source: Name of the data source used in error messages.

    Returns:
        int8 array of shape (len(df),) holding :data:`SPLIT_CODES` values.

    Raises:
        DataValidationError: If a key column is missing, or a split has fewer than
            :data:`MIN_ROWS_PER_CLASS_PER_SPLIT` rows of a class; the message names the target
            column and gives the counts.
        ValueError: If a target value is null or is neither label (see :func:`encode_target`).
    """
    df = coerce_numeric_text(df, schema.numeric_features, source)
    y = encode_target(df[schema.target], schema)
    missing = [c for c in split_key_columns(df, schema, split) if c not in df.columns]
    if missing:
        raise DataValidationError(source, missing[0], "listed in split.key_columns but absent")
    codes = assign_splits(df, schema, split)
    labels = (schema.negative_label, schema.positive_label)
    train_size = 1.0 - split.test_size - split.val_size
    fractions = f"train/val/test = {train_size:.2f}/{split.val_size:.2f}/{split.test_size:.2f}"
    for name, code in SPLIT_CODES.items():
        part_counts = np.bincount(y[codes == code], minlength=2)
        if part_counts.min() < MIN_ROWS_PER_CLASS_PER_SPLIT:
            keys = split_key_columns(df, schema, split)
            distinct = int(np.unique(row_key_hashes(df, keys)).size)
            hint = "add rows, or raise the smaller fraction"
            if distinct < 0.5 * len(df):
                hint = (
                    f"only {distinct} distinct row keys among {len(df)} rows, and identical "
                    "rows share a split: set split.key_columns to an ID column"
                )
            raise DataValidationError(
                source,
                schema.target,
                f"fewer rows than the split needs: the {name} split got {part_counts[0]} rows of "
                f"{labels[0]!r} and {part_counts[1]} of {labels[1]!r} ({fractions}), but needs "
                f"at least {MIN_ROWS_PER_CLASS_PER_SPLIT} of each; {hint}",
            )
    return codes


def split_data(
    df: pd.DataFrame, schema: FeatureSchema, split: SplitConfig, source: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split a validated table into train, validation and test frames by row hash.

    The pipeline stores the codes instead (``tabular_classifier.splits.DataSplit``); this
    builds the three frames at once, for code that holds the whole table anyway.

    Args:
        df: A table that passed :func:`validate_and_infer_schema`.
        schema: Its schema.
        split: Split fractions, salt and key columns.
        source: Name of the data source used in error messages.

    Returns:
        (train, val, test) frames with all the columns of ``df`` and fresh RangeIndexes;
        numeric features written as text are numbers (:func:`coerce_numeric_text`).

    Raises:
        DataValidationError: As :func:`split_codes`.
        ValueError: As :func:`split_codes`.
    """
    codes = split_codes(df, schema, split, source)
    df = coerce_numeric_text(df, schema.numeric_features, source)
    train, val, test = (
        df.iloc[np.flatnonzero(codes == code)].reset_index(drop=True)
        for code in SPLIT_CODES.values()
    )
    return train, val, test
