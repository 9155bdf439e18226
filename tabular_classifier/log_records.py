"""The prediction log's columnar record: one JSON line for all the rows of one request.

The gateway logs a request of two or more rows as **one** JSON line holding column arrays,
instead of one JSON line per row (``serving.log_lines.columnar_line`` writes it; about 4x
cheaper to encode for 1,000 rows of 30 floats, and a quarter of the bytes). One-row requests,
and every line written before this format, keep one line per row. Both kinds can share a file;
:func:`expand` turns a columnar record back into exactly the per-row records the gateway used
to write (same keys, same key order, same values; with an embedded ``request_body``, the values
as the client wrote them, see below), which is how monitoring
(``tabular_classifier.monitoring.log_files``) reads it.

A columnar record (format :data:`COLUMNAR_FORMAT`), keys in this order::

    {"log_format": "columns/1",       # marks the record; a per-row line has no such key
     "n_rows": N,                     # int >= 1
     "prediction_id_prefix": P,       # 26 hex characters; row i's id is P + f"{i:06x}"
     "request_id": ..., "timestamp": ..., "source": ..., "model_name": ...,
     "latency_ms": ...,               # shared by every row of the request
     "features": {name: [N values], ...},   # the model's input columns, in order; null = NaN
     "model_version": [N], "probability": [N], "label": [N], "unknown_categories": [N]}

or, instead of ``features``, after the arrays: ``"request_body": {"dataframe_split":
{"columns": [...], "data": [[...], ...]}}``, the request's own body embedded as it came (the
gateway does so when it is exactly the contract's columns, in order, as one line of strict JSON:
``serving.contract.RequestRows.verbatim``), so that the rows are not encoded a second time. Its
values are those the row contract accepted, as the client wrote them (an integer in a float
column stays an integer; monitoring parses them through the contract again).

Like every line of the log it is written whole in one ``os.write`` (``O_APPEND``), so a crash
of the gateway never leaves half of it; a machine crash can tear the last line, which the
reader skips and reports, losing that request's rows (never another's). A record whose arrays
do not all have ``n_rows`` values is refused by :func:`expand` (:class:`ValueError`) and
reported the same way.

Only the standard library here: the gateway imports it (no pandas, no torch).
"""

from __future__ import annotations

from typing import Any

FORMAT_KEY = "log_format"
COLUMNAR_FORMAT = "columns/1"
SHARED_KEYS = ("request_id", "timestamp", "source", "model_name", "latency_ms")
"""Values every row of the request shares, stored once."""
PER_ROW_KEYS = ("model_version", "probability", "label", "unknown_categories")
"""Values stored as arrays of ``n_rows``, after ``features``."""


def is_columnar(record: dict[str, Any]) -> bool:
    """Whether a decoded log line is a columnar record (else it is one row)."""
    return record.get(FORMAT_KEY) == COLUMNAR_FORMAT


def expand(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-row records of a columnar record, as the gateway wrote them one line per row.

    Each row: the features in order, then ``prediction_id``, ``request_id``, ``timestamp``,
    ``source``, ``model_name``, ``model_version``, ``probability``, ``label``, ``latency_ms``,
    ``unknown_categories`` (``serving.log_lines.serving_records``'s keys and order).

    Args:
        record: A decoded columnar record (:func:`is_columnar`).

    Returns:
        ``n_rows`` dicts.

    Raises:
        ValueError: If a key is missing or an array does not hold ``n_rows`` values.
    """
    n = record.get("n_rows")
    prefix = record.get("prediction_id_prefix")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError("columnar record: 'n_rows' must be an integer >= 1")
    if not isinstance(prefix, str):
        raise ValueError("columnar record: needs 'prediction_id_prefix'")
    missing = [key for key in SHARED_KEYS + PER_ROW_KEYS if key not in record]
    if missing:
        raise ValueError(f"columnar record: missing '{missing[0]}'")
    arrays = [record[key] for key in PER_ROW_KEYS]
    if any(not isinstance(values, list) or len(values) != n for values in arrays):
        raise ValueError(f"columnar record: every array must hold n_rows = {n} values")
    names, values_by_row = _feature_rows(record, n)
    shared = {key: record[key] for key in SHARED_KEYS}
    versions, probabilities, labels, unknown = arrays
    rows = []
    for i, values in enumerate(values_by_row):
        row = dict(zip(names, values, strict=True))
        row.update(
            prediction_id=f"{prefix}{i:06x}",
            request_id=shared["request_id"],
            timestamp=shared["timestamp"],
            source=shared["source"],
            model_name=shared["model_name"],
            model_version=versions[i],
            probability=probabilities[i],
            label=labels[i],
            latency_ms=shared["latency_ms"],
            unknown_categories=unknown[i],
        )
        rows.append(row)
    return rows


def _feature_rows(record: dict[str, Any], n: int) -> tuple[list[str], list[Any]]:
    """(feature names, each row's values) of a columnar record, from either of its forms.

    Raises:
        ValueError: If neither form is there, or it does not hold ``n`` complete rows.
    """
    features = record.get("features")
    if isinstance(features, dict):
        columns = list(features.values())
        if any(not isinstance(values, list) or len(values) != n for values in columns):
            raise ValueError(f"columnar record: every array must hold n_rows = {n} values")
        return list(features), list(zip(*columns, strict=True)) if columns else [()] * n
    body = record.get("request_body")
    split = body.get("dataframe_split") if isinstance(body, dict) else None
    names = split.get("columns") if isinstance(split, dict) else None
    data = split.get("data") if isinstance(split, dict) else None
    if not isinstance(names, list) or not isinstance(data, list):
        raise ValueError("columnar record: needs 'features' or 'request_body'")
    if len(data) != n or any(not isinstance(r, list) or len(r) != len(names) for r in data):
        raise ValueError(f"columnar record: 'request_body' must hold n_rows = {n} rows")
    return [str(name) for name in names], data


def rows_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of any decoded log line: a columnar record's (:func:`expand`), or the line itself.

    Raises:
        ValueError: As :func:`expand`.
    """
    return expand(record) if is_columnar(record) else [record]
