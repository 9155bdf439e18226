"""Prediction-log files read in chunks, with bad lines and rows set aside and reported.

The log (``serving.prediction_log``) is ``serving-YYYY-MM-DD.jsonl`` files from the gateway and
``batch-<run id>.parquet`` files from batch inference; a monitoring window may also be one CSV,
Parquet or JSON-lines file. Each is read in chunks of :data:`CHUNK_ROWS` rows so that memory stays
bounded whatever the log's size.

A serving line is either one row or one request's columnar record
(``tabular_classifier.log_records``: the gateway writes one for each request of two or more
rows); a columnar record is read as its rows (``log_records.expand``), so both formats, mixed in
one file, read the same.

A JSON line that does not parse (a crash mid-write tears the last line), or a columnar record
whose arrays disagree with its ``n_rows``, is skipped and reported in a :class:`SkippedRows`,
with its file and line number, instead of making every later monitoring run fail: one bad line
must never block monitoring for good.

Every chunk's index is the rows' location in its file: the line number (1-based) for JSON lines
(the rows of a columnar record share its line's number, so the index can repeat), the row
number (0-based, header excluded) for CSV and Parquet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow.parquet as pq

from tabular_classifier.errors import DataValidationError
from tabular_classifier.log_records import rows_of

CHUNK_ROWS = 100_000
MISSING_KEY = "__missing_key__"
"""Column that :func:`chunks` adds to JSON-lines chunks when asked (``missing_keys=True``): the
first requested key a line lacks, or None. One serving log file holds the lines of every model
the gateway serves, so a line's keys, not the file's first line, say whether it has a column."""
MAX_EXAMPLES = 20
"""How many skipped rows :class:`SkippedRows` describes one by one (all are counted)."""


@dataclass
class SkippedRows:
    """Lines and rows of the current data left out because they cannot be used.

    Attributes:
        total: How many were left out.
        by_source: How many per file.
        examples: The first :data:`MAX_EXAMPLES`, each ``{"source", "line"`` (JSON lines) or
            ``"row"`` (CSV, Parquet), ``"column"`` (None for a torn line), ``"kind"``
            (``torn_line``, ``unreadable_file`` for a log file that cannot be read at all,
            ``missing_column``, or a row-contract ``ErrorKind`` such as ``wrong_type``, or
            ``bad_probability`` / ``bad_timestamp``), ``"message"}``.
    """

    total: int = 0
    by_source: dict[str, int] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        source: str,
        location: int,
        column: str | None,
        kind: str,
        message: str,
        count: int = 1,
    ) -> None:
        """Record skipped lines or rows.

        Args:
            source: The file.
            location: The line number (JSON lines) or row number (CSV, Parquet) of the first.
            column: The offending column, if any.
            kind: Why they were skipped.
            message: The full explanation.
            count: How many rows it covers (a file without a needed column: all of its rows).
        """
        self.total += count
        self.by_source[source] = self.by_source.get(source, 0) + count
        if len(self.examples) < MAX_EXAMPLES:
            key = "line" if source.endswith(".jsonl") else "row"
            self.examples.append(
                {
                    "source": source,
                    key: int(location),
                    "column": column,
                    "kind": kind,
                    "message": message,
                }
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary."""
        return asdict(self)


def log_sources(log_dir: Path) -> list[Path]:
    """The prediction-log files of a directory: batch Parquet files, then serving JSON lines.

    Args:
        log_dir: The prediction-log directory.

    Returns:
        Sorted paths; empty files are left out.

    Raises:
        DataValidationError: If the directory does not exist.
    """
    if not log_dir.is_dir():
        raise DataValidationError(str(log_dir), None, "prediction-log directory does not exist")
    files = sorted(log_dir.glob("batch-*.parquet")) + sorted(log_dir.glob("serving-*.jsonl"))
    return [p for p in files if p.stat().st_size > 0]


def columns_of(path: Path) -> list[str]:
    """The column names of a file (for JSON lines: the keys of its first readable line).

    Raises:
        DataValidationError: If the file is empty, unreadable or of an unsupported type.
    """
    try:
        return _read_columns(path)
    except DataValidationError:
        raise
    except (ValueError, OSError) as exc:  # pandas' EmptyDataError and ParserError included
        raise DataValidationError(str(path), None, f"cannot be read: {exc}") from exc


def _read_columns(path: Path) -> list[str]:
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise DataValidationError(str(path), None, "file is empty (no header, no rows)")
    if suffix == ".parquet":
        return list(pq.ParquetFile(path).schema_arrow.names)
    if suffix == ".csv":
        return list(pd.read_csv(path, nrows=0).columns)
    if suffix == ".jsonl":
        with path.open("rb") as handle:
            for line in handle:
                records = _parse_line(line)
                if records:
                    return list(records[0])
        return []
    raise DataValidationError(str(path), None, "unsupported file type (use .csv, .parquet, .jsonl)")


def _parse_line(line: bytes) -> list[dict[str, Any]] | None:
    """The rows of one JSON line (one, or a columnar record's); None for a torn or bad line."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        # Python's json writes NaN and Infinity, which orjson refuses: read them, so that the
        # row contract can name the value instead of the line being called torn.
        try:
            record = json.loads(line)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
    if not isinstance(record, dict):
        return None
    try:
        return rows_of(record)
    except ValueError:  # a columnar record whose arrays disagree with its n_rows
        return None


def chunks(
    path: Path,
    columns: list[str],
    skipped: SkippedRows | None = None,
    missing_keys: bool = False,
) -> Iterator[pd.DataFrame]:
    """Yield ``columns`` of ``path`` in chunks of at most :data:`CHUNK_ROWS` rows, in file order.

    Args:
        path: A ``.jsonl``, ``.parquet`` or ``.csv`` file.
        columns: The columns to read; a JSON line lacking one gets NaN there.
        skipped: Where torn JSON lines are reported (None: skipped silently, as when a file is
            read a second time).
        missing_keys: For JSON lines, add the :data:`MISSING_KEY` column: the first of
            ``columns`` each line lacks (None when it has them all).

    Yields:
        Frames indexed by location (see the module docstring).

    Raises:
        DataValidationError: If a Parquet or CSV file cannot be read (naming it).
    """
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            # pre_buffer=False: pyarrow would otherwise read whole row groups ahead.
            reader = pq.ParquetFile(path, pre_buffer=False)
            start = 0
            for batch in reader.iter_batches(batch_size=CHUNK_ROWS, columns=columns):
                frame = batch.to_pandas()
                frame.index = pd.RangeIndex(start, start + len(frame))
                start += len(frame)
                yield frame
        elif suffix == ".csv":
            for frame in pd.read_csv(
                path,
                usecols=columns,
                chunksize=CHUNK_ROWS,
                low_memory=False,
                float_precision="round_trip",  # as tabular_classifier.table_reader reads CSV
            ):
                yield frame
        else:
            yield from _jsonl_chunks(path, columns, skipped, missing_keys)
    except (ValueError, OSError) as exc:
        if isinstance(exc, DataValidationError):
            raise
        raise DataValidationError(str(path), None, f"cannot be read: {exc}") from exc


def _jsonl_chunks(
    path: Path, columns: list[str], skipped: SkippedRows | None, missing_keys: bool = False
) -> Iterator[pd.DataFrame]:
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            parsed = _parse_line(line)
            if parsed is None:
                if skipped is not None:
                    last = not line.endswith(b"\n")
                    skipped.add(
                        str(path),
                        number,
                        None,
                        "torn_line",
                        f"{path}: line {number} is not a JSON object or a complete columnar "
                        "record"
                        + (
                            " (the last line, without a newline: a write in progress or cut "
                            "by a crash)"
                            if last
                            else " (cut by a crash during a write)"
                        )
                        + "; skipped",
                    )
                continue
            records.extend(parsed)
            lines.extend([number] * len(parsed))
            while len(records) >= CHUNK_ROWS:  # a columnar record can pass the boundary
                head, records = records[:CHUNK_ROWS], records[CHUNK_ROWS:]
                numbers, lines = lines[:CHUNK_ROWS], lines[CHUNK_ROWS:]
                yield _records_frame(head, numbers, columns, missing_keys)
    if records:
        yield _records_frame(records, lines, columns, missing_keys)


def _records_frame(
    records: list[dict[str, Any]], lines: list[int], columns: list[str], missing_keys: bool
) -> pd.DataFrame:
    data = {column: [record.get(column) for record in records] for column in columns}
    frame = pd.DataFrame(data, index=pd.Index(np.asarray(lines, dtype=np.int64)))
    # A column absent from every record comes out as None objects: make it missing numbers.
    for column in columns:
        if frame[column].isna().all():
            frame[column] = np.nan
    if missing_keys:
        wanted = set(columns)
        frame[MISSING_KEY] = [
            None if wanted.issubset(record.keys()) else next(c for c in columns if c not in record)
            for record in records
        ]
    return frame
