"""The row contract of one model version: its features, and parsing rows through them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tabular_classifier.contract import columns as column_checks
from tabular_classifier.contract.inference import infer_specs, model_specs
from tabular_classifier.contract.rows import ParsedRows
from tabular_classifier.contract.spec import ErrorKind, FeatureSpec
from tabular_classifier.contract.values import (
    CHECKERS,
    MAX_LISTED,
    check_value,
    describe,
    listing,
    python_value,
    value_error,
)
from tabular_classifier.errors import InputValidationError


@dataclass(frozen=True)
class RowProblem:
    """One refused row (``RowContract.split_valid``).

    Attributes:
        position: Row position in the input (0-based).
        column: The first bad feature of the row, in the contract's order.
        kind: Why it was refused.
        message: The full message, as :class:`InputValidationError` would give it.
    """

    position: int
    column: str
    kind: ErrorKind
    message: str


class RowContract:
    """The features a model version accepts, with their types and ranges.

    Args:
        features: The feature specs in the model's order: numbers (float, integer) first, then
            booleans and categoricals, as ``FeatureSchema.feature_columns``.
        ignored_columns: Columns accepted and ignored: the training table's target and dropped
            columns.
        na_values: Extra strings a CSV reader of this model's data treats as null (the data
            config's ``na_values``).

    Raises:
        ValueError: If a name repeats, a number follows a non-number, or an ignored column is
            also a feature.
    """

    def __init__(
        self,
        features: Sequence[FeatureSpec],
        ignored_columns: Sequence[str] = (),
        na_values: Sequence[str] = (),
    ) -> None:
        self.features: tuple[FeatureSpec, ...] = tuple(features)
        self.ignored_columns: tuple[str, ...] = tuple(ignored_columns)
        self.na_values: tuple[str, ...] = tuple(na_values)
        names = [spec.name for spec in self.features]
        if not names:
            raise ValueError("row contract: no features")
        if len(set(names)) != len(names):
            raise ValueError("row contract: a feature is listed twice")
        kinds = [spec.is_numeric for spec in self.features]
        if kinds != sorted(kinds, reverse=True):
            raise ValueError("row contract: numeric features must come first")
        if set(self.ignored_columns) & set(names):
            raise ValueError("row contract: an ignored column is also a feature")
        self.names: list[str] = names
        self._position = {name: index for index, name in enumerate(names)}
        self._ignored = frozenset(self.ignored_columns)
        self.n_numeric = sum(kinds)
        self.known_categories = [
            frozenset(spec.categories) for spec in self.features[self.n_numeric :]
        ]
        self._checkers = [CHECKERS[spec.type] for spec in self.features]
        # Without a known bound the largest finite double stands in, so that one comparison
        # also refuses infinities on the hot path.
        largest = float(np.finfo(np.float64).max)
        self._lower = [
            -largest if s.lower is None else s.lower for s in self.features[: self.n_numeric]
        ]
        self._upper = [
            largest if s.upper is None else s.upper for s in self.features[: self.n_numeric]
        ]
        self._plain_float = [s.type == "float" for s in self.features]
        self._lower_row, self._upper_row = np.asarray(self._lower), np.asarray(self._upper)
        self._integer_columns = np.flatnonzero([s.type == "integer" for s in self.features])

    # ----------------------------------------------------------------------------- building

    @classmethod
    def infer(
        cls,
        frame: pd.DataFrame,
        numeric_features: Sequence[str],
        categorical_features: Sequence[str],
        ignored_columns: Sequence[str] = (),
        na_values: Sequence[str] = (),
    ) -> RowContract:
        """Infer the contract's types, nullability and ranges from the training split.

        Types: integer dtypes (``int64``, ``Int64``, unsigned) are ``integer``, other numeric
        features ``float``; categorical features of a boolean dtype, or holding only booleans,
        are ``boolean``, the rest ``categorical``. Categories and scorable bounds come later,
        from the fitted preprocessor and model (:meth:`with_model`).

        Args:
            frame: The training split, numeric features already numbers
                (``tabular_classifier.data.coerce_numeric_text``).
            numeric_features: The schema's numeric features.
            categorical_features: The schema's categorical features.
            ignored_columns: Target and dropped columns.
            na_values: The data config's ``na_values``.

        Returns:
            The contract, without categories or bounds yet.

        Raises:
            KeyError: If the frame lacks a feature column.
            ValueError: If a numeric feature holds booleans.
        """
        specs = infer_specs(frame, numeric_features, categorical_features)
        return cls(specs, ignored_columns, na_values)

    def with_model(
        self,
        categories: Sequence[Sequence[str]],
        means: np.ndarray,
        scales: np.ndarray,
        layers: Sequence[tuple[np.ndarray, np.ndarray]],
    ) -> RowContract:
        """Add the categories and the scorable bounds of a fitted model.

        Args:
            categories: For each boolean/categorical feature, in order, the one-hot encoder's
                categories (the missing-value category is dropped).
            means: float64 (n_numeric,), the scaler's means.
            scales: float64 (n_numeric,), the scaler's scales (> 0).
            layers: The network's linear layers, input to output, as (weight (out, in),
                bias (out,)) float arrays.

        Returns:
            A new contract whose numeric features carry ``lower``/``upper`` = mean -/+
            ``scorable_z_bound(layers)`` x scale, and whose other features carry categories.

        Raises:
            ValueError: If the lengths disagree with the contract's features.
        """
        specs = model_specs(self.features, self.n_numeric, categories, means, scales, layers)
        return RowContract(specs, self.ignored_columns, self.na_values)

    # -------------------------------------------------------------------------- properties

    @property
    def numeric_features(self) -> list[str]:
        """The float and integer features, in order."""
        return self.names[: self.n_numeric]

    @property
    def categorical_features(self) -> list[str]:
        """The boolean and categorical features, in order."""
        return self.names[self.n_numeric :]

    def spec(self, name: str) -> FeatureSpec:
        """The spec of a feature.

        Raises:
            KeyError: If ``name`` is not a feature.
        """
        return self.features[self._position[name]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (the inverse of :meth:`from_dict`)."""
        return {
            "features": [spec.to_dict() for spec in self.features],
            "ignored_columns": list(self.ignored_columns),
            "na_values": list(self.na_values),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RowContract:
        """Rebuild a contract from :meth:`to_dict` output.

        Raises:
            ValueError: On a missing or unknown key or a malformed feature.
        """
        expected = {"features", "ignored_columns", "na_values"}
        if set(data) != expected:
            raise ValueError(f"row contract: expected keys {sorted(expected)}, got {sorted(data)}")
        return cls(
            [FeatureSpec.from_dict(item) for item in data["features"]],
            [str(c) for c in data["ignored_columns"]],
            [str(v) for v in data["na_values"]],
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RowContract) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.names))

    def __repr__(self) -> str:
        types = ", ".join(f"{s.name}: {s.type}" for s in self.features[:MAX_LISTED])
        more = f", ... ({len(self.features)} in all)" if len(self.features) > MAX_LISTED else ""
        return f"RowContract({types}{more})"

    # -------------------------------------------------------------------------- parsing

    def resolve_columns(self, columns: Sequence[Any]) -> list[int]:
        """Check a batch's column names and find each feature among them.

        Args:
            columns: The column names, in the order the batch holds them.

        Returns:
            For each feature, in the contract's order, its position in ``columns``.

        Raises:
            InputValidationError: ``duplicate_column`` (the first repeated name),
                ``missing_column`` (all missing features listed, the first named as the
                column) or ``unknown_column`` (a column neither a feature nor ignored).
        """
        if isinstance(columns, list) and columns == self.names:  # the contract's own order
            return list(range(len(columns)))
        seen: dict[str, int] = {}
        for position, name in enumerate(columns):
            if not isinstance(name, str):
                raise InputValidationError(
                    f"column names must be strings, got {describe(name)}",
                    column=str(name),
                    kind=ErrorKind.WRONG_TYPE,
                )
            if name in seen:
                raise InputValidationError(
                    f"column '{name}': appears more than once",
                    column=name,
                    kind=ErrorKind.DUPLICATE_COLUMN,
                )
            seen[name] = position
        missing = [name for name in self.names if name not in seen]
        if missing:
            # A renamed column shows up as one missing and one unknown: name both.
            extra = [c for c in seen if c not in self._position and c not in self._ignored]
            known = f" (the request has columns the model does not know: {listing(extra)})"
            raise InputValidationError(
                f"missing columns: {listing(missing)}{known if extra else ''}",
                column=missing[0],
                kind=ErrorKind.MISSING_COLUMN,
            )
        if len(seen) > len(self.names):
            unknown = [c for c in seen if c not in self._position and c not in self._ignored]
            if unknown:
                raise InputValidationError(
                    f"unknown columns: {listing(unknown)}; the model takes {listing(self.names)}"
                    + (
                        f" and ignores {listing(list(self.ignored_columns))}"
                        if self.ignored_columns
                        else ""
                    ),
                    column=unknown[0],
                    kind=ErrorKind.UNKNOWN_COLUMN,
                )
        return [seen[name] for name in self.names]

    def parse_rows(self, columns: Sequence[Any], rows: Sequence[Any]) -> ParsedRows:
        """Parse rows of JSON values (the gateway's and Seldon's path; no pandas).

        Args:
            columns: The column names of the rows.
            rows: One sequence of ``len(columns)`` JSON values per row. A float NaN is refused
                as ``not_finite`` (JSON has no NaN); ``None`` is null.

        Returns:
            The parsed rows; row labels are the positions 0..n-1.

        Raises:
            InputValidationError: See the module docstring; the first error in the documented
                order.
        """
        if len(rows) == 0:
            if len(columns):  # column errors come first, rows or not (module docstring)
                self.resolve_columns(columns)
            raise InputValidationError("empty batch: send at least one row", kind=ErrorKind.EMPTY)
        positions = self.resolve_columns(columns)
        width = len(columns)
        if len(rows) >= column_checks.JSON_ARRAY_ROWS and self.n_numeric == len(self.features):
            numbers = column_checks.json_numbers(
                rows, width, positions, self._lower_row, self._upper_row, self._integer_columns
            )
            if numbers is not None:
                return ParsedRows(self, numbers, np.empty((len(rows), 0), dtype=object), None)
        # (feature, checker, lower, upper, plain float) per feature, bound to locals: this loop
        # runs once per value of every request.
        pad = [0.0] * (len(self.features) - self.n_numeric)
        lows, highs = [*self._lower, *pad], [*self._upper, *pad]
        plan = list(zip(self.features, self._checkers, lows, highs, self._plain_float, strict=True))
        identity = positions == list(range(width))
        out: list[list[Any]] = []
        for i, row in enumerate(rows):
            if not isinstance(row, list | tuple) or len(row) != width:
                raise InputValidationError(
                    f"row {i} must be a list of {width} values, one per column",
                    row=i,
                    kind=ErrorKind.MALFORMED,
                )
            values = list(row) if identity else [row[p] for p in positions]
            for k, value in enumerate(values):
                if value is None:
                    continue
                spec, checker, lower, upper, plain = plan[k]
                # A finite float within bounds in a float column needs no call (NaN and
                # infinities fail the comparison).
                if plain and type(value) is float and lower <= value <= upper:
                    continue
                canonical, problem = checker(spec, value, False)
                if problem is not None:
                    raise value_error(spec.name, i, problem)
                values[k] = canonical
            out.append(values)
        return ParsedRows.from_rows(self, out)

    def parse_frame(self, frame: pd.DataFrame) -> ParsedRows:
        """Parse a DataFrame (the predictor's, pyfunc's, batch's and evaluation's path).

        Args:
            frame: The rows; NaN, None and pd.NA are null. Columns: the features, optionally
                the ignored columns, in any order.

        Returns:
            The parsed rows, labelled with ``frame.index``.

        Raises:
            InputValidationError: See the module docstring; rows are named by index label.
        """
        parsed, problems = self._convert_frame(frame, first_only=True)
        if problems:
            problem = problems[0]
            raise InputValidationError(
                problem.message,
                column=problem.column,
                row=python_value(frame.index[problem.position]),
                kind=problem.kind,
            )
        return parsed

    def split_valid(self, frame: pd.DataFrame) -> tuple[ParsedRows, list[RowProblem]]:
        """Parse a DataFrame, setting aside the rows that break the contract.

        Monitoring uses it on the prediction log, so that one bad row is reported instead of
        failing every later run.

        Args:
            frame: As :meth:`parse_frame`.

        Returns:
            The valid rows (labelled with their index labels), and one :class:`RowProblem` per
            refused row, in row order.

        Raises:
            InputValidationError: For an empty frame or a column error (no row can be read).
        """
        parsed, problems = self._convert_frame(frame, first_only=False)
        if not problems:
            return parsed, []
        bad = np.zeros(len(frame), dtype=bool)
        bad[[p.position for p in problems]] = True
        return parsed.take(np.flatnonzero(~bad)), problems

    def _convert_frame(
        self, frame: pd.DataFrame, first_only: bool
    ) -> tuple[ParsedRows, list[RowProblem]]:
        if not isinstance(frame, pd.DataFrame):
            raise InputValidationError(
                f"expected a pandas DataFrame, got {type(frame).__name__}",
                kind=ErrorKind.MALFORMED,
            )
        n_rows = len(frame)
        if n_rows == 0:
            if frame.shape[1]:  # column errors come first, rows or not (module docstring)
                self.resolve_columns(list(frame.columns))
            raise InputValidationError("empty batch: send at least one row", kind=ErrorKind.EMPTY)
        positions = self.resolve_columns(list(frame.columns))
        if n_rows * frame.shape[1] <= column_checks.SMALL_FRAME_CELLS:
            whole = frame.to_numpy()
            if self.n_numeric == len(self.features):  # all numbers: the 1-row fast path
                numbers = column_checks.numbers_in_range(
                    whole[:, positions], self._lower_row, self._upper_row, self._integer_columns
                )
                if numbers is not None:
                    empty = np.empty((n_rows, 0), dtype=object)
                    return ParsedRows(self, numbers, empty, frame.index), []
            columns: list[np.ndarray] = [whole[:, p] for p in positions]
        else:
            columns = [column_checks.column_array(frame.iloc[:, p]) for p in positions]
        numeric = np.empty((n_rows, self.n_numeric), dtype=np.float64)
        categorical = np.empty((n_rows, len(self.features) - self.n_numeric), dtype=object)
        bad_masks: list[np.ndarray | None] = []
        for k, (spec, values) in enumerate(zip(self.features, columns, strict=True)):
            if spec.is_numeric:
                numeric[:, k], bad = column_checks.numbers_of(
                    spec, values, self._lower[k], self._upper[k]
                )
            else:
                categorical[:, k - self.n_numeric], bad = column_checks.texts_of(spec, values)
            bad_masks.append(bad)
        problems: list[RowProblem] = []
        if any(mask is not None for mask in bad_masks):
            stacked = np.zeros((n_rows, len(self.features)), dtype=bool)
            for k, mask in enumerate(bad_masks):
                if mask is not None:
                    stacked[:, k] = mask
            bad_rows = np.flatnonzero(stacked.any(axis=1))
            for position in bad_rows[:1] if first_only else bad_rows:
                k = int(np.argmax(stacked[position]))
                spec = self.features[k]
                _, problem = check_value(spec, columns[k][position], nan_is_null=True)
                if problem is None:  # a fast path disagreed with _check_value: a bug
                    raise AssertionError(f"column '{spec.name}': row {position} flagged wrongly")
                error = value_error(spec.name, python_value(frame.index[position]), problem)
                problems.append(RowProblem(int(position), spec.name, problem[0], str(error)))
        return ParsedRows(self, numeric, categorical, frame.index), problems

    # ------------------------------------------------------------------------ for storage

    def analysis_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The feature columns of an already valid frame, in the dtypes drift detection needs.

        Numbers become float64 (NaN for null); booleans and categoricals become object columns
        of canonical text with NaN for null. Evidently's legacy drift refuses ``boolean``
        columns holding ``pd.NA``, and pandas ``category`` columns cannot take new values, so
        neither reaches it.

        Args:
            frame: Rows that pass :meth:`parse_frame` (extra columns are dropped).

        Returns:
            Shape (n_rows, n_features), same index.

        Raises:
            InputValidationError: As :meth:`parse_frame`.
        """
        own = frame[self.names + [c for c in self.ignored_columns if c in frame.columns]]
        return self.parse_frame(own).analysis_frame()
