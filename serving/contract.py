"""The serving contract: what a prediction request must look like, checked before scoring.

Requests use MLflow's scoring-server JSON formats, so the same payload works against the
gateway and against a bare ``mlflow models serve``:

* ``{"dataframe_split": {"columns": ["a", "b"], "data": [[1.0, "x"], ...]}}``
* ``{"dataframe_records": [{"a": 1.0, "b": "x"}, ...]}``

Every violation raises :class:`RequestError` with an HTTP status and a message naming the
field or column, so the server answers 4xx and never 500:

* 400: malformed JSON, or a body that is not one of the two formats;
* 413: more rows than ``max_rows`` (default :data:`DEFAULT_MAX_ROWS`);
* 422: empty batch, missing or extra columns, a non-numeric value in a numeric column, or a
  NaN / infinite number (not valid JSON numbers, RFC 8259 section 6). ``null`` is accepted
  and means "missing": the model imputes it exactly as in training.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import orjson
import pandas as pd

from tabular_classifier.data import FeatureSchema

DEFAULT_MAX_ROWS = 10_000


class RequestError(ValueError):
    """A request that breaks the serving contract.

    Attributes:
        status: The HTTP status to answer with (400, 413 or 422).
        message: What is wrong, naming the field or column.
        field: The offending field or column, if one.
    """

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        """Build the error."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field

    def to_json(self) -> dict[str, Any]:
        """The error body: ``{"error_code", "message", "field"}``."""
        codes = {400: "BAD_REQUEST", 413: "PAYLOAD_TOO_LARGE", 422: "INVALID_INPUT"}
        return {
            "error_code": codes.get(self.status, "BAD_REQUEST"),
            "message": self.message,
            "field": self.field,
        }


@dataclass(frozen=True)
class FeatureContract:
    """The columns a model version accepts.

    Attributes:
        numeric: Numeric feature columns: JSON numbers or null.
        categorical: Categorical feature columns: strings, numbers, booleans or null.
    """

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def columns(self) -> list[str]:
        """All feature columns, numeric first, in the order the model uses."""
        return [*self.numeric, *self.categorical]

    @classmethod
    def from_schema(cls, schema: FeatureSchema) -> FeatureContract:
        """The contract of a trained model's feature schema."""
        return cls(tuple(schema.numeric_features), tuple(schema.categorical_features))

    def to_dict(self) -> dict[str, list[str]]:
        """JSON-safe form."""
        return {"numeric": list(self.numeric), "categorical": list(self.categorical)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureContract:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(data["numeric"]), tuple(data["categorical"]))


def _reject_constant(name: str) -> float:
    # json accepts NaN/Infinity by default; keep them as floats so the column check below can
    # name the column and row instead of failing the whole parse.
    return float(name.replace("Infinity", "inf"))


def _load_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass  # orjson refuses NaN/Infinity; the stdlib parser keeps them for a precise error
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise RequestError(400, "malformed JSON: nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, int digit limit
        raise RequestError(400, f"malformed JSON: {exc}") from exc


def _table(payload: Any) -> tuple[list[str], list[list[Any]]]:
    if not isinstance(payload, dict):
        raise RequestError(
            400, "the body must be a JSON object with 'dataframe_split' or 'dataframe_records'"
        )
    keys = set(payload) & {"dataframe_split", "dataframe_records"}
    unknown = set(payload) - {"dataframe_split", "dataframe_records", "params"}
    if len(keys) != 1 or unknown:
        field = sorted(unknown)[0] if unknown else None
        raise RequestError(
            400,
            "the body must have exactly one of 'dataframe_split' or 'dataframe_records'"
            + (f"; unknown field '{field}'" if field else ""),
            field,
        )
    if "dataframe_split" in payload:
        split = payload["dataframe_split"]
        if not isinstance(split, dict):
            raise RequestError(400, "'dataframe_split' must be an object", "dataframe_split")
        columns, data = split.get("columns"), split.get("data")
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise RequestError(
                400,
                "'dataframe_split.columns' must be a list of strings",
                "dataframe_split.columns",
            )
        if not isinstance(data, list):
            raise RequestError(
                400, "'dataframe_split.data' must be a list of rows", "dataframe_split.data"
            )
        for i, row in enumerate(data):
            if not isinstance(row, list) or len(row) != len(columns):
                raise RequestError(
                    400,
                    f"'dataframe_split.data' row {i} must be a list of {len(columns)} values",
                    "dataframe_split.data",
                )
        return columns, data
    records = payload["dataframe_records"]
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise RequestError(
            400, "'dataframe_records' must be a list of objects", "dataframe_records"
        )
    columns = list(records[0]) if records else []
    rows = []
    for i, record in enumerate(records):
        if set(record) != set(columns):
            raise RequestError(
                422,
                f"'dataframe_records' row {i} has columns {sorted(record)}, row 0 has "
                f"{sorted(columns)}",
                "dataframe_records",
            )
        rows.append([record[c] for c in columns])
    return columns, rows


def parse_rows(
    body: bytes, contract: FeatureContract, max_rows: int = DEFAULT_MAX_ROWS
) -> list[list[Any]]:
    """Parse and validate a prediction request into plain rows (the serving hot path).

    No pandas here: on a one-row request, building a DataFrame costs more than the model.

    Args:
        body: The raw HTTP body (UTF-8 JSON).
        contract: The columns the served model version accepts.
        max_rows: The largest batch accepted, in rows.

    Returns:
        One list per row, values in ``contract.columns`` order; numeric values are floats
        or ``None`` (missing, imputed by the model), categorical values are JSON scalars.

    Raises:
        RequestError: 400 for malformed JSON or structure, 413 above ``max_rows``, 422 for an
            empty batch, missing/extra/duplicate columns, a non-numeric or non-finite value in
            a numeric column, or a nested value in a categorical column.
    """
    columns, rows = _table(_load_json(body))
    if len(rows) == 0:
        raise RequestError(422, "empty batch: send at least one row")
    if len(rows) > max_rows:
        raise RequestError(
            413, f"batch of {len(rows)} rows exceeds the limit of {max_rows} rows per request"
        )
    if len(set(columns)) != len(columns):
        dup = next(c for c in columns if columns.count(c) > 1)
        raise RequestError(422, f"column '{dup}' appears more than once", dup)
    wanted = contract.columns
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise RequestError(422, f"missing columns: {missing}", missing[0])
    extra = [c for c in columns if c not in wanted]
    if extra:
        raise RequestError(422, f"unexpected columns: {extra}", extra[0])
    position = [columns.index(c) for c in wanted]
    n_numeric = len(contract.numeric)
    out: list[list[Any]] = []
    for i, row in enumerate(rows):
        values = [row[j] for j in position]
        for k in range(n_numeric):
            value = values[k]
            if value is None:
                continue
            if type(value) is float:
                if not math.isfinite(value):
                    column = wanted[k]
                    raise RequestError(
                        422,
                        f"column '{column}': {value} at row {i} is not a finite number",
                        column,
                    )
            elif type(value) is int:
                try:
                    values[k] = float(value)
                except OverflowError as exc:
                    column = wanted[k]
                    raise RequestError(
                        422, f"column '{column}': integer at row {i} is too large", column
                    ) from exc
            else:
                column = wanted[k]
                raise RequestError(
                    422, f"column '{column}': non-numeric value {value!r} at row {i}", column
                )
        for k in range(n_numeric, len(wanted)):
            value = values[k]
            if isinstance(value, dict | list):
                column = wanted[k]
                raise RequestError(
                    422, f"column '{column}': nested value at row {i}; expected a scalar", column
                )
            if isinstance(value, float) and not math.isfinite(value):
                column = wanted[k]
                raise RequestError(
                    422, f"column '{column}': {value} at row {i} is not a valid value", column
                )
        out.append(values)
    return out


def parse_request(
    body: bytes, contract: FeatureContract, max_rows: int = DEFAULT_MAX_ROWS
) -> pd.DataFrame:
    """Parse and validate a prediction request into a DataFrame (see :func:`parse_rows`).

    Returns:
        DataFrame of shape (n_rows, n_features), columns in ``contract.columns`` order;
        numeric columns float64 (null → NaN), categorical columns object.

    Raises:
        RequestError: As :func:`parse_rows`.
    """
    rows = parse_rows(body, contract, max_rows)
    frame = pd.DataFrame(rows, columns=contract.columns)
    for column in contract.numeric:
        frame[column] = frame[column].astype("float64")
    for column in contract.categorical:
        frame[column] = frame[column].astype(object)
    return frame
