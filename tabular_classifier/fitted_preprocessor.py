"""The fitted preprocessing as plain arrays: fit in chunks, apply in NumPy, stored as JSON.

:class:`FittedPreprocessor` computes the parameters of
:func:`tabular_classifier.features.build_preprocessor`'s ColumnTransformer from NumPy arrays in
chunks of :data:`~tabular_classifier.feature_arrays.CHUNK_ROWS` rows
(:meth:`FittedPreprocessor.fit_arrays`), equal to the ColumnTransformer's within 1e-6
(``tests/unit/test_features.py``), and applies them in NumPy, chunk by chunk, for fast,
pickle-free training and inference.

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
from sklearn.utils.validation import check_is_fitted

from tabular_classifier.contract import SMALL_FRAME_CELLS, ParsedRows
from tabular_classifier.feature_arrays import (
    CHUNK_ROWS,
    MISSING_CATEGORY,
    block_as_float,
    categorical_as_strings,
    distinct_categories,
    numeric_statistics,
)
from tabular_classifier.feature_schema import FeatureSchema


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
            numeric = block_as_float(train_df[numeric_columns].to_numpy(), numeric_columns)
        texts = categorical_as_strings(train_df[categorical_columns].to_numpy(dtype=object))
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
        medians, means, scales = numeric_statistics(numeric, chunk_rows)
        categories = [
            distinct_categories(categorical[:, j], chunk_rows)
            for j in range(len(categorical_columns))
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
        texts = categorical_as_strings(categorical_block) if self.categorical_columns else None
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
        return block_as_float(block, self.numeric_columns)

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


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
