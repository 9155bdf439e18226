"""Feature preprocessing: scikit-learn's imputer, scaler and one-hot encoder, in NumPy.

:func:`build_preprocessor` is the scikit-learn ColumnTransformer that defines the preprocessing.
:class:`FittedPreprocessor` computes the same parameters from NumPy arrays in chunks of
:data:`CHUNK_ROWS` rows (:meth:`FittedPreprocessor.fit_arrays`), equal to the
ColumnTransformer's within 1e-6 (``tests/unit/test_features.py``), and applies them in NumPy,
chunk by chunk, for fast, pickle-free training and inference.

The preprocessor must be fitted on the training split only: fitting on validation or test rows
leaks their medians, means and categories into the model and inflates the reported metrics.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from tabular_classifier.contract import SMALL_FRAME_CELLS, ParsedRows, category_text
from tabular_classifier.feature_schema import FeatureSchema

MISSING_CATEGORY = "__missing__"
"""Category that stands for a null categorical value, so that missingness itself is a feature."""

CHUNK_ROWS = 65_536
"""Rows per chunk when fitting and transforming. Our choice: a chunk of 30 float64 columns is
15 MB of temporaries, small next to the arrays themselves and large enough that NumPy's
per-call overhead is negligible (256 chunks for 10M rows)."""


def _categorical_as_strings(values: Any) -> np.ndarray:
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
                    FunctionTransformer(_categorical_as_strings, feature_names_out="one-to-one"),
                ),
                ("impute", SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY)),
                ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
            ]
        )
        transformers.append(("categorical", categorical, list(schema.categorical_features)))
    if not transformers:
        raise ValueError("the feature schema has no feature columns")
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)


def _float_vector(values: Any, name: str, length: int) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
    if array.shape != (length,):
        raise ValueError(f"preprocessor: {name} has {array.size} values, expected {length}")
    if not np.isfinite(array).all():
        raise ValueError(f"preprocessor: {name} holds non-finite values")
    return array


@dataclass(eq=False)
class FittedPreprocessor:
    """The parameters of a fitted preprocessing ColumnTransformer, as plain arrays and lists.

    :meth:`transform` re-implements the ColumnTransformer in numpy: same output (to float32
    precision), no scikit-learn object at inference, and a JSON form (:meth:`to_dict`) instead
    of a pickle.

    Attributes:
        numeric_columns: Numeric input columns, in output order.
        medians: float64 (n_numeric,), imputation values (SimpleImputer ``statistics_``).
        means: float64 (n_numeric,), StandardScaler ``mean_``.
        scales: float64 (n_numeric,), StandardScaler ``scale_`` (zero variances already set to 1).
        categorical_columns: Categorical input columns, in output order.
        categories: For each categorical column, its known categories (strings, OneHotEncoder
            order), possibly including :data:`MISSING_CATEGORY`.
    """

    numeric_columns: list[str]
    medians: np.ndarray
    means: np.ndarray
    scales: np.ndarray
    categorical_columns: list[str]
    categories: list[list[str]]
    _indexes: list[pd.Index] = field(init=False, repr=False)
    _offsets: list[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Check the parameters and precompute the category lookups.

        Raises:
            ValueError: If array lengths disagree with the column lists, a value is not finite,
                a scale is not positive, a column appears twice, or a category list is
                empty or repeats a category.
        """
        count = len(self.numeric_columns)
        self.medians = _float_vector(self.medians, "medians", count)
        self.means = _float_vector(self.means, "means", count)
        self.scales = _float_vector(self.scales, "scales", count)
        if (self.scales <= 0).any():
            raise ValueError("preprocessor: scales must be positive")
        columns = [*self.numeric_columns, *self.categorical_columns]
        if len(set(columns)) != len(columns):
            raise ValueError("preprocessor: a column is listed twice")
        if not columns:
            raise ValueError("preprocessor: no input columns")
        if len(self.categories) != len(self.categorical_columns):
            raise ValueError(
                f"preprocessor: {len(self.categories)} category lists for "
                f"{len(self.categorical_columns)} categorical columns"
            )
        self._indexes = []
        self._offsets = []
        offset = count
        for column, known in zip(self.categorical_columns, self.categories, strict=True):
            index = pd.Index(known, dtype=object)
            if not known or not index.is_unique:
                raise ValueError(f"preprocessor: column '{column}': empty or repeated categories")
            self._indexes.append(index)
            self._offsets.append(offset)
            offset += len(known)

    @classmethod
    def from_column_transformer(
        cls, ct: ColumnTransformer, schema: FeatureSchema
    ) -> "FittedPreprocessor":
        """Export the parameters of a ColumnTransformer built by :func:`build_preprocessor`.

        Args:
            ct: The fitted ColumnTransformer.
            schema: The schema it was built from.

        Returns:
            The exported preprocessor.

        Raises:
            sklearn.exceptions.NotFittedError: If ``ct`` is not fitted (a ValueError).
            ValueError: If ``ct`` does not have the structure :func:`build_preprocessor` gives,
                or its columns differ from the schema's.
        """
        check_is_fitted(ct)
        fitted = {name: (step, list(columns)) for name, step, columns in ct.transformers_}
        numeric: list[str] = list(schema.numeric_features)
        categorical: list[str] = list(schema.categorical_features)
        empty = np.empty(0, dtype=np.float64)
        medians, means, scales = empty, empty, empty
        categories: list[list[str]] = []
        try:
            if numeric:
                pipeline, columns = fitted["numeric"]
                if columns != numeric:
                    raise ValueError(f"numeric columns {columns} differ from the schema's")
                medians = pipeline.named_steps["impute"].statistics_
                means = pipeline.named_steps["scale"].mean_
                scales = pipeline.named_steps["scale"].scale_
            if categorical:
                pipeline, columns = fitted["categorical"]
                if columns != categorical:
                    raise ValueError(f"categorical columns {columns} differ from the schema's")
                encoder = pipeline.named_steps["onehot"]
                categories = [[str(c) for c in known] for known in encoder.categories_]
        except (KeyError, AttributeError) as exc:
            raise ValueError(
                f"the ColumnTransformer was not built by build_preprocessor: {exc!r}"
            ) from exc
        return cls(numeric, medians, means, scales, categorical, categories)

    @classmethod
    def fit(cls, train_df: pd.DataFrame, schema: FeatureSchema) -> "FittedPreprocessor":
        """Fit the preprocessing on a frame (see :meth:`fit_arrays`).

        Args:
            train_df: The training split only (see the module docstring), with the schema's
                feature columns; numeric columns hold numbers, numeric strings or nulls.
            schema: The feature schema.

        Returns:
            The fitted preprocessor.

        Raises:
            ValueError: If the schema has no features, the frame has no rows, or a numeric
                column holds a value that is not a number (the column is named).
            KeyError: If the frame lacks one of the schema's columns.
        """
        if not schema.feature_columns:
            raise ValueError("the feature schema has no feature columns")
        numeric_columns = list(schema.numeric_features)
        categorical_columns = list(schema.categorical_features)
        missing = [c for c in [*numeric_columns, *categorical_columns] if c not in train_df]
        if missing:
            raise KeyError(f"missing columns: {missing}")
        numeric = np.empty((len(train_df), 0), dtype=np.float64)
        if numeric_columns:
            numeric = _block_as_float(train_df[numeric_columns].to_numpy(), numeric_columns)
        texts = _categorical_as_strings(train_df[categorical_columns].to_numpy(dtype=object))
        return cls.fit_arrays(numeric, texts, numeric_columns, categorical_columns)

    @classmethod
    def fit_arrays(
        cls,
        numeric: np.ndarray,
        categorical: np.ndarray,
        numeric_columns: list[str],
        categorical_columns: list[str],
        chunk_rows: int = CHUNK_ROWS,
    ) -> "FittedPreprocessor":
        """Fit the preprocessing on arrays, chunk by chunk, as :func:`build_preprocessor` would.

        Numeric columns: the median of the non-null values (0 for an all-null column, as
        ``SimpleImputer(keep_empty_features=True)``), then the mean and the population
        standard deviation of the imputed column in two chunked passes (scikit-learn's
        two-pass formula with its correction term), a near-constant column getting scale 1
        by scikit-learn's own test (``_is_constant_feature``). Categorical columns: the
        sorted distinct texts, with :data:`MISSING_CATEGORY` when a value is null. Only the
        median needs a whole column at a time (a copy of one column).

        Args:
            numeric: float64 (n_rows, n_numeric), NaN for null.
            categorical: object (n_rows, n_categorical): canonical text
                (:func:`~tabular_classifier.contract.category_text`), None or NaN for null.
            numeric_columns: Names of the numeric columns, in order.
            categorical_columns: Names of the categorical columns, in order.
            chunk_rows: Rows per chunk, >= 1.

        Returns:
            The fitted preprocessor.

        Raises:
            ValueError: If there are no rows, no columns, or the arrays' widths differ from the
                column lists.
        """
        n_rows = numeric.shape[0]
        if n_rows == 0:
            raise ValueError("cannot fit the preprocessing on 0 rows")
        if numeric.shape[1] != len(numeric_columns) or categorical.shape[1] != len(
            categorical_columns
        ):
            raise ValueError(
                f"arrays of widths {numeric.shape[1]} and {categorical.shape[1]} for "
                f"{len(numeric_columns)} numeric and {len(categorical_columns)} categorical "
                "columns"
            )
        medians, means, scales = _numeric_statistics(numeric, chunk_rows)
        categories = [
            _categories(categorical[:, j], chunk_rows) for j in range(len(categorical_columns))
        ]
        return cls(numeric_columns, medians, means, scales, categorical_columns, categories)

    @property
    def feature_names_out(self) -> list[str]:
        """Output column names, as ``ColumnTransformer.get_feature_names_out`` gives them."""
        names = list(self.numeric_columns)
        for column, known in zip(self.categorical_columns, self.categories, strict=True):
            names.extend(f"{column}_{category}" for category in known)
        return names

    @property
    def n_features_out(self) -> int:
        """Number of output columns: numeric columns plus the categories of every column."""
        return len(self.numeric_columns) + sum(len(known) for known in self.categories)

    @property
    def input_columns(self) -> list[str]:
        """Input columns :meth:`transform` needs: the numeric ones, then the categorical ones."""
        return [*self.numeric_columns, *self.categorical_columns]

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Apply the exported parameters to a frame.

        Numeric: NaN (or None, pd.NA) becomes the median, then ``(x - mean) / scale``.
        Categorical: null becomes :data:`MISSING_CATEGORY`; each value sets the one-hot column of
        its category; a category unseen in training leaves the whole block at zero. Extra
        columns are ignored and column order does not matter.

        Args:
            df: Frame holding at least :attr:`input_columns`; numeric columns must hold numbers,
                numeric strings or nulls.

        Returns:
            float32 array of shape (len(df), :attr:`n_features_out`); equal to the fitted
            ColumnTransformer's float64 output rounded to float32.

        Raises:
            KeyError: If a required column is missing (all missing columns are named).
            ValueError: If a numeric column holds a value that is not a number.
        """
        positions = {column: index for index, column in enumerate(df.columns)}
        missing = [c for c in self.input_columns if c not in positions]
        if missing:
            raise KeyError(f"missing columns: {missing}")
        numeric_positions = [positions[c] for c in self.numeric_columns]
        categorical_positions = [positions[c] for c in self.categorical_columns]
        n_rows = len(df)
        if n_rows * df.shape[1] <= SMALL_FRAME_CELLS:
            whole = df.to_numpy()
            numeric_block = whole[:, numeric_positions]
            categorical_block = whole[:, categorical_positions]
        else:
            numeric_block = df.iloc[:, numeric_positions].to_numpy()
            categorical_block = df.iloc[:, categorical_positions].to_numpy(dtype=object)
        numeric = self._numeric_values(numeric_block) if self.numeric_columns else None
        texts = _categorical_as_strings(categorical_block) if self.categorical_columns else None
        return self._encode(n_rows, numeric, texts)

    def transform_parsed(self, rows: ParsedRows) -> np.ndarray:
        """Apply the exported parameters to rows parsed by the model's row contract.

        The serving path: the contract has already converted every value (numbers to float64
        with NaN for null, categories to canonical text with None for null), so this is pure
        array work.

        Args:
            rows: Parsed by the contract of the bundle this preprocessor belongs to.

        Returns:
            float32 array of shape (rows.n_rows, :attr:`n_features_out`), identical to
            :meth:`transform` of the same rows.
        """
        return self._encode(rows.n_rows, rows.numeric, rows.categorical)

    def _encode(
        self, n_rows: int, numeric: np.ndarray | None, texts: np.ndarray | None
    ) -> np.ndarray:
        out = np.zeros((n_rows, self.n_features_out), dtype=np.float32)
        n_numeric = len(self.numeric_columns)
        for start in range(0, n_rows, CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, n_rows)
            if n_numeric and numeric is not None:
                values = numeric[start:stop]
                values = np.where(np.isnan(values), self.medians, values)
                # float64 arithmetic, rounded to float32 once, on assignment.
                out[start:stop, :n_numeric] = (values - self.means) / self.scales
            if self.categorical_columns and texts is not None:
                rows = np.arange(start, stop)
                for j, (index, offset) in enumerate(zip(self._indexes, self._offsets, strict=True)):
                    column = texts[start:stop, j]
                    nulls = pd.isna(column)
                    if nulls.any():
                        column = np.where(nulls, MISSING_CATEGORY, column)
                    positions = index.get_indexer(column)
                    known = positions >= 0
                    out[rows[known], offset + positions[known]] = 1.0
        return out

    def _numeric_values(self, block: np.ndarray) -> np.ndarray:
        return _block_as_float(block, self.numeric_columns)

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as a JSON-safe dictionary (the inverse of :meth:`from_dict`).

        Floats are Python floats, which ``json`` writes with the shortest repr that reads back
        to the same double, so a JSON round trip is exact.
        """
        return {
            "numeric_columns": list(self.numeric_columns),
            "medians": [float(v) for v in self.medians],
            "means": [float(v) for v in self.means],
            "scales": [float(v) for v in self.scales],
            "categorical_columns": list(self.categorical_columns),
            "categories": [list(known) for known in self.categories],
            "missing_category": MISSING_CATEGORY,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "FittedPreprocessor":
        """Rebuild a preprocessor from :meth:`to_dict` output.

        Args:
            d: Mapping with the keys written by :meth:`to_dict`.

        Returns:
            The preprocessor.

        Raises:
            ValueError: If a key is missing or unknown, a value has the wrong type or length,
                or the missing-category token differs from :data:`MISSING_CATEGORY`.
        """
        expected = {
            "numeric_columns",
            "medians",
            "means",
            "scales",
            "categorical_columns",
            "categories",
            "missing_category",
        }
        if set(d) != expected:
            raise ValueError(f"preprocessor: expected keys {sorted(expected)}, got {sorted(d)}")
        if d["missing_category"] != MISSING_CATEGORY:
            raise ValueError(
                f"preprocessor: missing_category {d['missing_category']!r} is not "
                f"{MISSING_CATEGORY!r}"
            )
        for key in ("numeric_columns", "categorical_columns"):
            if not _is_str_list(d[key]):
                raise ValueError(f"preprocessor: key '{key}' must be a list of strings")
        if not isinstance(d["categories"], list) or not all(
            _is_str_list(known) for known in d["categories"]
        ):
            raise ValueError("preprocessor: key 'categories' must be a list of string lists")
        for key in ("medians", "means", "scales"):
            values = d[key]
            if not isinstance(values, list) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in values
            ):
                raise ValueError(f"preprocessor: key '{key}' must be a list of finite numbers")
        return cls(
            numeric_columns=list(d["numeric_columns"]),
            medians=np.asarray(d["medians"], dtype=np.float64),
            means=np.asarray(d["means"], dtype=np.float64),
            scales=np.asarray(d["scales"], dtype=np.float64),
            categorical_columns=list(d["categorical_columns"]),
            categories=[list(known) for known in d["categories"]],
        )


def _block_as_float(block: np.ndarray, columns: list[str]) -> np.ndarray:
    """A 2-D block of numbers (or numeric strings, or nulls) as float64, NaN for null.

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


def _numeric_statistics(
    numeric: np.ndarray, chunk_rows: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Medians, means and scales of float64 columns, as SimpleImputer + StandardScaler fit them."""
    n_rows, width = numeric.shape
    medians = np.zeros(width, dtype=np.float64)
    for j in range(width):
        column = numeric[:, j]
        present = column[~np.isnan(column)]
        if present.size:
            medians[j] = np.median(present)
    totals = np.zeros(width, dtype=np.float64)
    for start in range(0, n_rows, chunk_rows):
        chunk = numeric[start : start + chunk_rows]
        totals += np.where(np.isnan(chunk), medians, chunk).sum(axis=0)
    means = totals / n_rows
    deviations = np.zeros(width, dtype=np.float64)
    squares = np.zeros(width, dtype=np.float64)
    for start in range(0, n_rows, chunk_rows):
        chunk = numeric[start : start + chunk_rows]
        centred = np.where(np.isnan(chunk), medians, chunk) - means
        deviations += centred.sum(axis=0)
        squares += np.square(centred).sum(axis=0)
    variances = (squares - deviations**2 / n_rows) / n_rows
    # scikit-learn's _is_constant_feature: the variance is within the two-pass algorithm's
    # error bound of zero (Chan, Golub and LeVeque), so the column is treated as constant.
    eps = np.finfo(np.float64).eps
    constant = variances <= n_rows * eps * variances + (n_rows * means * eps) ** 2
    scales = np.sqrt(np.maximum(variances, 0.0))
    scales[constant] = 1.0
    return medians, means, scales


def _categories(column: np.ndarray, chunk_rows: int) -> list[str]:
    """Sorted distinct texts of a categorical column, :data:`MISSING_CATEGORY` for nulls."""
    seen: set[str] = set()
    for start in range(0, len(column), chunk_rows):
        for value in pd.unique(column[start : start + chunk_rows]):
            seen.add(value if isinstance(value, str) else MISSING_CATEGORY)
    return sorted(seen)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
