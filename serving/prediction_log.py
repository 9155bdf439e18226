"""The prediction log: every prediction served or batch-scored, for monitoring to read.

One row per prediction, with the model's input columns plus:
``prediction_id`` (str, UUID4), ``request_id`` (str), ``timestamp`` (ISO 8601, UTC),
``source`` (``serving`` or ``batch``), ``model_name``, ``model_version`` (str),
``probability`` (float64), ``label`` (str) and ``latency_ms`` (float64: the whole request's
latency in milliseconds for served rows, NaN for batch rows).

Storage, under :func:`prediction_log_dir`:
* the gateway appends JSON lines to ``serving-YYYY-MM-DD.jsonl`` (one file per UTC day);
* each batch-inference run writes ``batch-<run id>.parquet`` atomically (temporary file, then
  rename), so a failed batch never leaves a partial file.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

META_COLUMNS = (
    "prediction_id",
    "request_id",
    "timestamp",
    "source",
    "model_name",
    "model_version",
    "probability",
    "label",
    "latency_ms",
)


def prediction_log_dir(state: Path | None = None) -> Path:
    """``$TABULAR_PREDICTION_LOG`` if set, else ``predictions/`` in the serving state dir.

    Args:
        state: The serving state directory (default ``serving.routing.state_dir()``).
    """
    override = os.environ.get("TABULAR_PREDICTION_LOG")
    if override:
        path = Path(override)
    else:
        from serving.routing import state_dir

        path = (state or state_dir()) / "predictions"
    path.mkdir(parents=True, exist_ok=True)
    return path


def utc_now() -> str:
    """The current UTC time, ISO 8601 with microseconds."""
    return datetime.now(UTC).isoformat()


def encode_records(records: list[dict[str, Any]]) -> bytes:
    """Records as JSON lines: one ``orjson`` object per record, each ending in a newline.

    Values orjson does not know are written as their ``str``.
    """
    return b"".join(orjson.dumps(r, default=str) + b"\n" for r in records)


def prediction_ids(base: str, n_rows: int) -> list[str]:
    """The prediction ids of one request's rows: 32 hex characters each.

    A random UUID4 (``base``, 32 hex characters) for a one-row request; for a batch, its first
    26 characters (104 random bits) and the row's position in 6, which is unique too and spares
    a UUID per row (1.5 µs each: 1.5 ms per 1,000 rows).
    """
    return [base] if n_rows == 1 else [f"{base[:26]}{i:06x}" for i in range(n_rows)]


def serving_records(
    columns: Sequence[str],
    rows: list[list[Any]],
    meta: dict[str, Any],
    per_row: dict[str, list[Any]],
) -> list[dict[str, Any]]:
    """One request's log records: each row's input columns, then the meta columns.

    Args:
        columns: The contract's feature names, in order.
        rows: Canonical JSON rows (n_rows lists, in the order of ``columns``).
        meta: The values shared by every row: ``request_id``, ``timestamp``, ``source``,
            ``model_name``, ``latency_ms``, and ``prediction_id_base`` (32 hex characters,
            a random UUID4: the rows' ids are :func:`prediction_ids` of it).
        per_row: Lists of n_rows values: ``model_version``, ``probability``, ``label`` and
            ``unknown_categories``.

    Returns:
        n_rows dicts, keys in the order the log has always written them: the columns, then
        ``prediction_id``, ``request_id``, ``timestamp``, ``source``, ``model_name``,
        ``model_version``, ``probability``, ``label``, ``latency_ms``, ``unknown_categories``.
    """
    ids = prediction_ids(meta["prediction_id_base"], len(rows))
    records = []
    for i, row in enumerate(rows):
        record = dict(zip(columns, row, strict=True))
        record.update(
            prediction_id=ids[i],
            request_id=meta["request_id"],
            timestamp=meta["timestamp"],
            source=meta["source"],
            model_name=meta["model_name"],
            model_version=per_row["model_version"][i],
            probability=per_row["probability"][i],
            label=per_row["label"][i],
            latency_ms=meta["latency_ms"],
            unknown_categories=per_row["unknown_categories"][i],
        )
        records.append(record)
    return records


_SERVING_KEYS = frozenset({*META_COLUMNS, "unknown_categories"})
_TEXT_TYPES = frozenset({str, type(None)})


def _values(values: Sequence[Any]) -> list[bytes]:
    """Each value as orjson writes it. Raises ``TypeError`` for a value orjson does not know."""
    encoded = orjson.dumps(values)[1:-1]
    if not encoded:
        return []
    if b'"' not in encoded:  # numbers, booleans and nulls: no commas inside any of them
        parts = encoded.split(b",")
        if len(parts) == len(values):  # else a value was an array: encode one by one
            return parts
    if set(map(type, values)) <= _TEXT_TYPES:  # each distinct text encoded once
        texts = {value: orjson.dumps(value) for value in set(values)}
        return [texts[value] for value in values]
    return [orjson.dumps(value) for value in values]


def serving_lines(
    columns: Sequence[str],
    rows: list[list[Any]],
    meta: dict[str, Any],
    per_row: dict[str, list[Any]],
) -> bytes:
    """:func:`encode_records` of :func:`serving_records`, byte for byte, built column-wise.

    Same arguments as :func:`serving_records`. Instead of a dict and an ``orjson.dumps`` per
    row, the feature values are encoded by one ``orjson.dumps`` of the rows (split once when
    they hold no text; text one distinct value at a time) and joined, once, with separators
    holding the keys and the values every row shares: 1,000 rows of 30 floats took 2.9 ms
    instead of 4.0 ms (2 cores, busy). Rows with no feature, a feature named like a meta
    column, a value orjson does not know, or a single row take the per-record way, so the
    output is always that of :func:`encode_records`.
    """
    n = len(rows)
    base = meta["prediction_id_base"]
    if (
        n < 2
        or not columns
        or len(set(columns)) != len(columns)
        or _SERVING_KEYS.intersection(columns)
        or not (isinstance(base, str) and len(base) == 32 and base.isalnum() and base.isascii())
    ):
        return encode_records(serving_records(columns, rows, meta, per_row))
    try:
        encoded = _feature_values(rows, len(columns))
        encoded += [_values(per_row[key]) for key in ("model_version", "probability", "label")]
        encoded.append(_values(per_row["unknown_categories"]))
        shared = b",".join(
            orjson.dumps(key) + b":" + orjson.dumps(meta[key])
            for key in ("request_id", "timestamp", "source", "model_name")
        )
        latency = orjson.dumps(meta["latency_ms"])
    except TypeError:  # orjson.JSONEncodeError included: the per-record way decides
        return encode_records(serving_records(columns, rows, meta, per_row))
    if any(len(values) != n for values in encoded):
        return encode_records(serving_records(columns, rows, meta, per_row))
    keys = [orjson.dumps(c) + b":" for c in columns]
    # Each line: separator, value, separator, value, ..., "}\n"; the separators hold the keys
    # and the values every row shares. The prediction id is the base's first 26 characters
    # and the row's position in 6 hex digits, as prediction_ids.
    separators = [b"{" + keys[0], *(b"," + key for key in keys[1:])]
    separators.append(b',"prediction_id":"' + base[:26].encode())
    separators += [
        b'",' + shared + b',"model_version":',
        b',"probability":',
        b',"label":',
        b',"latency_ms":' + latency + b',"unknown_categories":',
    ]
    encoded.insert(len(columns), _hex_positions(n))
    width = 2 * len(separators) + 1
    pieces: list[bytes] = [b"}\n"] * (n * width)
    for j, (separator, values) in enumerate(zip(separators, encoded, strict=True)):
        pieces[2 * j :: width] = [separator] * n
        pieces[2 * j + 1 :: width] = values
    return b"".join(pieces)


_HEX: list[bytes] = []


def _hex_positions(n: int) -> list[bytes]:
    """``b"000000"``, ``b"000001"``, ... : the first ``n`` row positions, 6 hex digits.

    Cached (up to the largest request seen); a longer list replaces the cache whole, so a
    concurrent caller never sees it half-grown.
    """
    global _HEX
    cached = _HEX
    if len(cached) < n:
        cached = [b"%06x" % i for i in range(max(n, 2 * len(cached)))]
        _HEX = cached
    return cached[:n]


def _feature_values(rows: list[list[Any]], width: int) -> list[list[bytes]]:
    """Per column, each row's value as orjson writes it (``width`` columns).

    Raises:
        TypeError: For a value orjson does not know.
    """
    encoded = orjson.dumps(rows)
    if b'"' not in encoded:  # numbers, booleans and nulls: one split over the whole request
        flat = encoded[2:-2].replace(b"],[", b",").split(b",")
        if len(flat) == len(rows) * width and set(map(len, rows)) == {width}:
            return [flat[j::width] for j in range(width)]
    return [_values(column) for column in zip(*rows, strict=True)]


class JsonlPredictionWriter:
    """Thread-safe appender of JSON lines, one file per UTC day, readable by the owner only.

    Durability policy (issue 11):

    * Each :meth:`write` is one ``os.write`` of complete lines to a file opened with
      ``O_APPEND``, so a crash of the gateway process never leaves half a record behind: what
      ``write`` returned from is in the kernel and survives the process.
    * Nothing is fsync'ed per request (that would cost a disk flush per prediction): a crash of
      the machine (power loss, kernel panic) can lose the last seconds of lines and can tear the
      last line. Monitoring's reader skips a torn line and reports its file and line number
      (``tabular_classifier.monitoring.log_files``).
    * A writer that opens a file not ending in a newline (a torn last line) starts on a fresh
      line, so the torn line never swallows the next record.
    * The files hold every served input row: they are created, and kept, with mode 0600, like
      ``route.json`` and the batch Parquet files.
    """

    MODE = 0o600

    def __init__(self, directory: Path) -> None:
        """Write under ``directory`` (created if missing)."""
        self._directory = directory
        self._directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._day = ""
        self._fd: int | None = None
        self._fresh_line = False

    def _open(self, day: str) -> None:
        path = self._directory / f"serving-{day}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, self.MODE)
        os.fchmod(fd, self.MODE)  # an older file may have been created 0644
        size = os.fstat(fd).st_size
        torn = False
        if size:
            with path.open("rb") as handle:
                handle.seek(size - 1)
                torn = handle.read(1) != b"\n"
        self._fd, self._day, self._fresh_line = fd, day, torn

    def write(self, records: list[dict[str, Any]]) -> None:
        """Append records (already JSON-safe) as complete lines, in one ``os.write``.

        Args:
            records: One dict per prediction row.

        Raises:
            OSError: If the file cannot be opened or written (disk full, permissions).
        """
        self.write_lines(encode_records(records))

    def write_lines(self, data: bytes) -> None:
        """Append complete JSON lines (each ending in a newline), in one ``os.write``.

        Args:
            data: The lines, as :func:`encode_records` or :func:`serving_lines` build them.

        Raises:
            OSError: If the file cannot be opened or written (disk full, permissions).
        """
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        with self._lock:
            if day != self._day or self._fd is None:
                self.close_unlocked()
                self._open(day)
            assert self._fd is not None
            if self._fresh_line:
                data = b"\n" + data
            view = memoryview(data)
            written = os.write(self._fd, view)
            while written < len(view):  # a short write (rare on regular files): finish it
                written += os.write(self._fd, view[written:])
            self._fresh_line = False

    def close_unlocked(self) -> None:
        """Close the current file; the caller holds the lock (or no other thread writes)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        """Close the current file."""
        with self._lock:
            self.close_unlocked()


def write_batch(frame: pd.DataFrame, run_id: str, directory: Path | None = None) -> Path:
    """Write one batch's predictions as Parquet, atomically.

    Args:
        frame: Shape (n_rows, n_features + len(META_COLUMNS)).
        run_id: The batch run's id, used in the file name.
        directory: Default :func:`prediction_log_dir`.

    Returns:
        The written file's path.
    """
    directory = directory or prediction_log_dir()
    target = directory / f"batch-{run_id}.parquet"
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".batch-", suffix=".parquet")
    os.close(fd)
    try:
        # Row groups of 100,000 rows: monitoring streams the log one row group at a time, so
        # this bounds its memory per file (one row group of 1M rows cost ~900 MiB to decode).
        frame.to_parquet(tmp, index=False, row_group_size=100_000)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
