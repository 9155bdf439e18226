"""Whole columns of a DataFrame checked at once, agreeing with ``check_value`` value by value."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd

from tabular_classifier.contract.spec import FeatureSpec
from tabular_classifier.contract.values import category_text, check_value

SMALL_FRAME_CELLS = 100_000
"""Up to this many cells (rows x columns), :meth:`RowContract.parse_frame` converts the frame
with one ``DataFrame.to_numpy`` call, several times cheaper than selecting columns for the
1-row frames of online serving. Above it, columns are converted one by one, so that a wide
frame never becomes one huge object array."""


def column_array(series: pd.Series) -> np.ndarray:
    """One column as a numpy array that :meth:`RowContract._convert_frame` can check fast."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return series.astype(object).to_numpy()
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            return series.to_numpy(dtype=np.float64, na_value=np.nan)
        return series.to_numpy(dtype=object, na_value=None)
    return series.to_numpy()


def texts_of(spec: FeatureSpec, values: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Canonical text (None for null) of a boolean or categorical column, and the bad mask."""
    out = np.empty(len(values), dtype=object)
    kind = values.dtype.kind
    if kind == "b" or (kind in "iuf" and spec.type == "categorical" and kind != "f"):
        # bool and integer arrays hold no nulls; each distinct value is converted once.
        uniques, inverse = np.unique(values, return_inverse=True)
        checked = [check_value(spec, value, nan_is_null=True) for value in uniques]
        if any(problem is not None for _, problem in checked):
            bad = np.array([problem is not None for _, problem in checked])[inverse]
            texts = np.array([None if p else category_text(v) for v, p in checked], dtype=object)
            return texts[inverse], bad
        out[:] = np.array([category_text(value) for value, _ in checked], dtype=object)[inverse]
        return out, None
    bad = np.zeros(len(values), dtype=bool)
    for row, value in enumerate(values):
        canonical, problem = check_value(spec, value, nan_is_null=True)
        if problem is not None:
            bad[row] = True
        elif canonical is not None:
            out[row] = canonical if spec.type == "categorical" else category_text(canonical)
    return out, (bad if bad.any() else None)


def numbers_of(
    spec: FeatureSpec, values: np.ndarray, lower: float, upper: float
) -> tuple[np.ndarray, np.ndarray | None]:
    """float64 values of a numeric feature's column (NaN = null) and the mask of bad rows.

    Args:
        spec: The feature.
        values: The column.
        lower: Smallest accepted value (the spec's bound, or the most negative finite double).
        upper: Largest accepted value.
    """
    kind = values.dtype.kind
    if kind in "iuf":
        numbers = values.astype(np.float64)
        with np.errstate(invalid="ignore"):
            bad = (numbers < lower) | (numbers > upper)
            if spec.type == "integer" and kind == "f":
                bad |= np.isfinite(numbers) & (numbers != np.floor(numbers))
        return numbers, (bad if bad.any() else None)
    numbers = np.empty(len(values), dtype=np.float64)
    bad = np.zeros(len(values), dtype=bool)
    for row, value in enumerate(values):
        canonical, problem = check_value(spec, value, nan_is_null=True)
        if problem is not None:
            bad[row] = True
            numbers[row] = np.nan
        else:
            numbers[row] = np.nan if canonical is None else float(canonical)
    return numbers, (bad if bad.any() else None)


def numbers_in_range(
    matrix: np.ndarray, lower: np.ndarray, upper: np.ndarray, integer_columns: np.ndarray
) -> np.ndarray | None:
    """All of an all-numeric frame's features at once, when every value is valid.

    The whole-matrix form of :func:`numbers_of` for :meth:`RowContract.parse_frame`: one
    comparison of the matrix against the bounds (NaN is null and passes; infinities fail the
    largest-double bound that stands in for a missing one), plus integrality for integer
    features. On a 1-row frame of 30 features it takes about 13 µs where 30 :func:`numbers_of`
    calls take about 126 µs.

    Args:
        matrix: The features' columns of ``frame.to_numpy()``, in the contract's order, shape
            (n_rows, n_features).
        lower: Smallest accepted value per feature, float64, shape (n_features,).
        upper: Largest accepted value per feature, float64, shape (n_features,).
        integer_columns: Positions of the integer features (int64 indices).

    Returns:
        float64 array of shape (n_rows, n_features), NaN for null; or None when the matrix is
        not numeric or any value is out of range or not integral for an integer feature. The
        per-column path then finds the value and names it, as it always did.
    """
    if matrix.dtype.kind not in "iuf":
        return None
    numbers = np.asarray(matrix, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        if ((numbers < lower) | (numbers > upper)).any():
            return None
        if integer_columns.size:
            ints = numbers[:, integer_columns]
            if (np.isfinite(ints) & (ints != np.floor(ints))).any():
                return None
    return numbers


JSON_ARRAY_ROWS = 16
"""From this many rows, :meth:`RowContract.parse_rows` of an all-numeric contract tries
:func:`json_numbers` first. Below it the per-value loop is faster (30 floats: 1 row took about
20 µs in the loop and 30 µs through the array; 16 rows about 70 µs and 60 µs)."""
_JSON_NUMBER_TYPES = frozenset({float, int, type(None)})
_EXACT_INT = 2.0**53
"""Integers up to this magnitude are exact in float64 (IEEE 754 binary64: 53-bit significand)."""


def json_numbers(
    rows: Sequence[Any],
    width: int,
    positions: list[int],
    lower: np.ndarray,
    upper: np.ndarray,
    integer_columns: np.ndarray,
) -> np.ndarray | None:
    """All of an all-numeric contract's features from rows of JSON values at once, when valid.

    The fast path of :meth:`RowContract.parse_rows`, agreeing with :func:`check_value` value by
    value: it succeeds only when every value of every row (ignored columns included) is exactly
    a Python ``float``, ``int`` or ``None`` (no ``bool``, no ``str``, no subclass), no float is
    NaN (JSON has no NaN: refused as ``not_finite``), every number is within the bounds
    (:func:`numbers_in_range`), integer features hold integral numbers, and an ``int`` in an
    integer feature is at most 2**53 in magnitude (where float64 holds it exactly, so the
    canonical ``int`` is kept). In every other case it returns None and the per-value loop runs,
    so the error and its message are exactly those of that loop. On 1,000 rows of 30 floats it
    takes about 1.5 ms where the per-value loop and the array built from its rows take about
    5.6 ms (2 shared cores).

    Args:
        rows: One sequence of ``width`` JSON values per row, in the request's column order.
        width: The request's number of columns.
        positions: For each feature, in the contract's order, its position among the columns.
        lower: Smallest accepted value per feature, float64, shape (n_features,).
        upper: Largest accepted value per feature, float64, shape (n_features,).
        integer_columns: Positions of the integer features (int64 indices).

    Returns:
        float64 (n_rows, n_features) in the contract's order, NaN for null; or None.
    """
    if not set(map(type, rows)) <= {list, tuple} or set(map(len, rows)) != {width}:
        return None
    types = set(map(type, chain.from_iterable(rows)))
    if not types <= _JSON_NUMBER_TYPES:
        return None
    try:
        matrix = np.array(rows, dtype=np.float64)
    except (OverflowError, ValueError, TypeError):  # an int beyond float64's range
        return None
    if float in types:  # NaN must come from a None (null), never from a float
        nulls = list(chain.from_iterable(rows)).count(None) if type(None) in types else 0
        if int(np.count_nonzero(np.isnan(matrix))) != nulls:
            return None
    features = matrix if positions == list(range(width)) else matrix[:, positions]
    if int in types and integer_columns.size:
        with np.errstate(invalid="ignore"):
            if (np.abs(features[:, integer_columns]) > _EXACT_INT).any():
                return None
    return numbers_in_range(features, lower, upper, integer_columns)
