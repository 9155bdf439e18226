"""The HTTP side of the serving contract: request bodies, parsed into rows the model accepts.

Requests use MLflow's scoring-server JSON formats, so the same payload works against the
gateway and against a bare ``mlflow models serve``:

* ``{"dataframe_split": {"columns": ["a", "b"], "data": [[1.0, "x"], ...]}}``
* ``{"dataframe_records": [{"a": 1.0, "b": "x"}, ...]}``

The rows themselves are checked by the model version's row contract
(``tabular_classifier.contract``: types, nulls, ranges, columns), the same one every other entry
point uses. Every violation raises :class:`RequestError` with an HTTP status and a message naming
the field or column, so the server answers 4xx and never 500:

* 400: malformed JSON, or a body that is not one of the two formats;
* 413: more rows than ``max_rows`` (default :data:`DEFAULT_MAX_ROWS`);
* 422: anything the row contract refuses (``kind`` says which rule, ``field`` the column,
  ``row`` the row).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

from tabular_classifier.contract import ParsedRows, RowContract
from tabular_classifier.errors import InputValidationError

DEFAULT_MAX_ROWS = 10_000


class RequestError(ValueError):
    """A request that breaks the serving contract.

    Attributes:
        status: The HTTP status to answer with (400, 413 or 422).
        message: What is wrong, naming the field or column.
        field: The offending field or column, if one.
        kind: The row contract's ``ErrorKind`` for a 422, else None.
        row: The offending row (0-based position in the request), if one.
    """

    def __init__(
        self,
        status: int,
        message: str,
        field: str | None = None,
        kind: str | None = None,
        row: int | None = None,
    ) -> None:
        """Build the error."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.kind = kind
        self.row = row

    def to_json(self) -> dict[str, Any]:
        """The error body: ``{"error_code", "message", "field", "kind", "row"}``."""
        codes = {400: "BAD_REQUEST", 413: "PAYLOAD_TOO_LARGE", 422: "INVALID_INPUT"}
        return {
            "error_code": codes.get(self.status, "BAD_REQUEST"),
            "message": self.message,
            "field": self.field,
            "kind": self.kind,
            "row": self.row,
        }


def _reject_constant(name: str) -> float:
    # json accepts NaN/Infinity by default; keep them as floats so the column check below can
    # name the column and row instead of failing the whole parse.
    return float(name.replace("Infinity", "inf"))


def _load_json(body: bytes) -> tuple[Any, bool]:
    """The decoded body, and whether orjson decoded it (strict RFC 8259 JSON)."""
    try:
        return orjson.loads(body), True
    except orjson.JSONDecodeError:
        pass  # orjson refuses NaN/Infinity; the stdlib parser keeps them for a precise error
    try:
        return json.loads(body, parse_constant=_reject_constant), False
    except RecursionError as exc:
        raise RequestError(400, "malformed JSON: nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, int digit limit
        if "int_max_str_digits" in str(exc):  # Python's advice is for the server, not a client
            raise RequestError(
                400, "a number has more digits than the 4,300 this server parses"
            ) from exc
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
        if not isinstance(columns, list) or not set(map(type, columns)) <= {str}:
            raise RequestError(
                400,
                "'dataframe_split.columns' must be a list of strings",
                "dataframe_split.columns",
            )
        if not isinstance(data, list):
            raise RequestError(
                400, "'dataframe_split.data' must be a list of rows", "dataframe_split.data"
            )
        if set(map(type, data)) <= {list} and set(map(len, data)) <= {len(columns)}:
            return columns, data  # every row a list of the right length, checked in C
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
            # Name the first column that differs, as a missing or unknown column of that row.
            extra = [c for c in record if c not in columns]
            if extra:
                column, kind, how = extra[0], "unknown_column", "has a column that row 0 lacks"
            else:
                column = next(c for c in columns if c not in record)
                kind, how = "missing_column", "lacks a column that row 0 has"
            raise RequestError(
                422,
                f"'dataframe_records' row {i} {how}: '{column}' (every row needs the same columns)",
                column,
                kind,
                i,
            )
        rows.append([record[c] for c in columns])
    return columns, rows


@dataclass(frozen=True)
class RequestRows:
    """A parsed request: its rows, and its body when the log can keep it as it came.

    Attributes:
        parsed: The rows, checked by the contract.
        verbatim: The body itself when it is exactly ``{"dataframe_split": {"columns": <the
            contract's features, in its order>, "data": [...]}}`` with two or more rows, strict
            JSON (decoded by orjson) on one line (no CR or LF): then its rows are exactly the
            values the contract accepted, and the prediction log's columnar record embeds them
            as they came (``serving.log_lines.columnar_line``) instead of encoding them again.
            Else None.
    """

    parsed: ParsedRows
    verbatim: bytes | None


def parse_rows(body: bytes, contract: RowContract, max_rows: int = DEFAULT_MAX_ROWS) -> ParsedRows:
    """:func:`parse_request`'s rows (same arguments and errors)."""
    return parse_request(body, contract, max_rows).parsed


def parse_request(
    body: bytes, contract: RowContract, max_rows: int = DEFAULT_MAX_ROWS
) -> RequestRows:
    """Parse a prediction request and check its rows against the row contract.

    No pandas here: on a one-row request, building a DataFrame costs more than the model.

    Args:
        body: The raw HTTP body (UTF-8 JSON).
        contract: The served model version's row contract.
        max_rows: The largest batch accepted, in rows.

    Returns:
        The parsed rows (``ParsedRows``: canonical values, ready for the model), and the body
        when the log can embed it (:class:`RequestRows`).

    Raises:
        RequestError: 400 for malformed JSON or structure, 413 above ``max_rows``, 422 for
            whatever the row contract refuses (empty batch, missing, unknown or duplicate
            columns, wrong types, non-finite or out-of-range numbers).
    """
    payload, strict = _load_json(body)
    columns, rows = _table(payload)
    if len(rows) > max_rows:
        raise RequestError(
            413, f"batch of {len(rows)} rows exceeds the limit of {max_rows} rows per request"
        )
    try:
        parsed = contract.parse_rows(columns, rows)
    except InputValidationError as exc:
        row = exc.row if isinstance(exc.row, int) else None
        raise RequestError(422, str(exc), exc.column, exc.kind, row) from exc
    verbatim = (
        strict
        and len(rows) >= 2
        and columns == contract.names
        and payload.keys() == {"dataframe_split"}
        and payload["dataframe_split"].keys() == {"columns", "data"}
        and b"\n" not in body
        and b"\r" not in body
    )
    return RequestRows(parsed, body if verbatim else None)
