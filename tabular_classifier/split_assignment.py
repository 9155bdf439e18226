"""Hash splits: which of train, validation and test each row belongs to, from its key alone.

:func:`assign_splits` is the rule; :func:`split_codes` applies it to a validated table and
checks that every split gets both classes. ``tabular_classifier.splits.DataSplit`` stores the
result.
"""

import numpy as np
import pandas as pd

from tabular_classifier.config import SplitConfig
from tabular_classifier.data_validation import coerce_numeric_text
from tabular_classifier.errors import DataValidationError
from tabular_classifier.feature_schema import FeatureSchema
from tabular_classifier.labels import encode_target

MIN_ROWS_PER_CLASS_PER_SPLIT = 2
"""Each of train, validation and test needs this many rows of each class: ROC AUC needs both
classes, and stratified splitting needs at least two members per class."""

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


NUMBER_KINDS = frozenset({"boolean", "integer", "floating", "mixed-integer-float", "empty"})
"""``pandas.api.types.infer_dtype`` kinds of an object column whose values hash as numbers."""


def key_values(column: pd.Series) -> np.ndarray:
    """A key column's values in the form :func:`row_key_hashes` hashes, whatever its dtype.

    The same values read from CSV and from Parquet come in different dtypes: a ``category``
    column of integers (Parquet) is ``int64`` from CSV, and a nullable boolean (Parquet) is an
    object column of ``True``/``False`` and NaN from CSV. Both forms give the same array here.

    Args:
        column: One key column, any dtype.

    Returns:
        float64 array (NaN for every null; -0.0 as 0.0) when the non-null values are numbers or
        booleans: numeric and boolean dtypes, ``category`` columns with numeric or boolean
        categories, object columns holding only Python/NumPy numbers and booleans. Otherwise an
        object array of text (``str`` of each value; nulls as NUL followed by ``null``).
    """
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = dtype.categories
        if pd.api.types.is_bool_dtype(categories) or pd.api.types.is_numeric_dtype(categories):
            codes = column.cat.codes.to_numpy()
            values = categories.to_numpy(dtype=np.float64)[codes]
            values[codes < 0] = np.nan
            return values + 0.0
        column = column.astype(object)
    elif pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        # Straight to float64 (NaN for every kind of null): the same values as going through a
        # nullable Float64 first, which took 0.19 s per 1M-row float column.
        return column.to_numpy(dtype=np.float64, na_value=np.nan) + 0.0
    if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) in NUMBER_KINDS:
        return column.to_numpy(dtype=np.float64, na_value=np.nan) + 0.0
    text: np.ndarray = column.astype("string").fillna("\x00null").to_numpy(dtype=object)
    return text


def row_key_hashes(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """A 64-bit hash of each row's key, by value rather than by dtype.

    Numbers and booleans are hashed as float64 (so ``3``, ``3.0``, a nullable ``Int64`` 3 and a
    ``category`` of integers holding 3 agree, and an integer column that gains a null in new
    rows keeps every old row's hash); anything else is hashed as its text (:func:`key_values`).
    A table therefore keeps its row keys, and its splits, when it moves between CSV and Parquet.
    Nulls of every kind hash alike.

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
            values = key_values(df[name])
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
        df: A table that passed
            :func:`~tabular_classifier.data_validation.validate_and_infer_schema`.
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
        df: A table that passed
            :func:`~tabular_classifier.data_validation.validate_and_infer_schema`.
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
