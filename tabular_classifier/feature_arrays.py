"""Feature values as arrays: the conversions and chunked statistics the preprocessing shares.

Numeric blocks become float64 with NaN for null, categorical blocks the row contract's text
(:func:`tabular_classifier.contract.category_text`); :func:`numeric_statistics` and
:func:`distinct_categories` compute what scikit-learn's imputer, scaler and one-hot encoder would
fit, chunk by chunk. Used by :func:`tabular_classifier.features.build_preprocessor` and
:class:`tabular_classifier.fitted_preprocessor.FittedPreprocessor`.
"""

from typing import Any

import numpy as np
import pandas as pd

from tabular_classifier.contract import category_text

MISSING_CATEGORY = "__missing__"
"""Category that stands for a null categorical value, so that missingness itself is a feature."""

CHUNK_ROWS = 65_536
"""Rows per chunk when fitting and transforming. Our choice: a chunk of 30 float64 columns is
15 MB of temporaries, small next to the arrays themselves and large enough that NumPy's
per-call overhead is negligible (256 chunks for 10M rows)."""


def categorical_as_strings(values: Any) -> np.ndarray:
    """Map a 2-D block of categorical values to strings, keeping nulls as ``np.nan``.

    Shared by the scikit-learn pipeline and :meth:`FittedPreprocessor.transform`, and the same
    text as the row contract's (:func:`tabular_classifier.contract.category_text`), which is what
    makes all three agree exactly.

    Args:
        values: DataFrame or array of shape (n, k), any dtypes.

    Returns:
        object array of shape (n, k): ``str`` values, and ``np.nan`` where the input was null.
    """
    array = np.asarray(values, dtype=object)
    missing = pd.isna(array)
    out = np.empty(array.shape, dtype=object)
    out[missing] = np.nan
    present = ~missing
    out[present] = [category_text(value) for value in array[present]]
    return out


def block_as_float(block: np.ndarray, columns: list[str]) -> np.ndarray:
    """A 2-D block of numbers (or numeric strings, or nulls) as float64, NaN for null.

    Args:
        block: Array of shape (n, k), any dtype; object blocks may hold None and pd.NA.
        columns: The k column names, for the error message.

    Returns:
        float64 array of shape (n, k).

    Raises:
        ValueError: Naming the first column holding a value that is not a number.
    """
    if block.dtype == object:
        # Mixed frames come out as objects, where pd.NA and None do not convert to float.
        block = np.where(pd.isna(block), np.nan, block)
    try:
        return block.astype(np.float64)
    except (TypeError, ValueError):
        for j, column in enumerate(columns):
            try:
                block[:, j].astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"column '{column}': {exc}") from exc
        raise


def numeric_statistics(
    numeric: np.ndarray, chunk_rows: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Medians, means and scales of float64 columns, as SimpleImputer + StandardScaler fit them.

    See :meth:`tabular_classifier.fitted_preprocessor.FittedPreprocessor.fit_arrays` for the
    method (scikit-learn's two-pass formula and its constant-feature test).

    Args:
        numeric: float64 (n_rows, width), NaN for null; n_rows >= 1.
        chunk_rows: Rows per chunk, >= 1.

    Returns:
        (medians, means, scales), each float64 of shape (width,); scales are positive.
    """
    n_rows, width = numeric.shape
    medians = np.zeros(width, dtype=np.float64)
    means = np.zeros(width, dtype=np.float64)
    deviations = np.zeros(width, dtype=np.float64)
    squares = np.zeros(width, dtype=np.float64)
    # One contiguous column at a time, so that a column's numbers do not depend on the columns
    # beside it: the training step fits one column at a time from the stored table
    # (tabular_classifier.streamed_training) and must get the same bits as a whole-array fit.
    for j in range(width):
        column = np.ascontiguousarray(numeric[:, j])
        missing = np.isnan(column)
        present = column[~missing]
        if present.size:
            medians[j] = np.median(present)
        total = 0.0
        for start in range(0, n_rows, chunk_rows):
            chunk = column[start : start + chunk_rows]
            total += float(np.where(missing[start : start + chunk_rows], medians[j], chunk).sum())
        means[j] = total / n_rows
        for start in range(0, n_rows, chunk_rows):
            chunk = column[start : start + chunk_rows]
            imputed = np.where(missing[start : start + chunk_rows], medians[j], chunk)
            centred = imputed - means[j]
            deviations[j] += float(centred.sum())
            squares[j] += float(np.square(centred).sum())
    variances = (squares - deviations**2 / n_rows) / n_rows
    # scikit-learn's _is_constant_feature: the variance is within the two-pass algorithm's
    # error bound of zero (Chan, Golub and LeVeque), so the column is treated as constant.
    eps = np.finfo(np.float64).eps
    constant = variances <= n_rows * eps * variances + (n_rows * means * eps) ** 2
    scales = np.sqrt(np.maximum(variances, 0.0))
    scales[constant] = 1.0
    return medians, means, scales


def distinct_categories(column: np.ndarray, chunk_rows: int) -> list[str]:
    """Sorted distinct texts of a categorical column, :data:`MISSING_CATEGORY` for nulls.

    Args:
        column: object (n_rows,): canonical texts, None or NaN for null.
        chunk_rows: Rows per chunk, >= 1.

    Returns:
        The categories, sorted, as the OneHotEncoder orders them.
    """
    seen: set[str] = set()
    for start in range(0, len(column), chunk_rows):
        for value in pd.unique(column[start : start + chunk_rows]):
            seen.add(value if isinstance(value, str) else MISSING_CATEGORY)
    return sorted(seen)
