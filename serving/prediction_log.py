"""The prediction log: every prediction served or batch-scored, for monitoring to read.

One row per prediction, with the model's input columns plus:
``prediction_id`` (str, 32 hex characters: a UUID4, or for a batch request the first 26
characters of one and the row's position in 6), ``request_id`` (str), ``timestamp`` (ISO 8601,
UTC), ``source`` (``serving`` or ``batch``), ``model_name``, ``model_version`` (str),
``probability`` (float64), ``label`` (str) and ``latency_ms`` (float64: the whole request's
latency in milliseconds for served rows, NaN for batch rows).

Storage, under :func:`prediction_log_dir`:
* the gateway appends JSON lines to ``serving-YYYY-MM-DD.jsonl`` (one file per UTC day): a
  one-row request as one line holding that row (the keys above), a request of two or more rows
  as one columnar record holding all of its rows as column arrays (format ``columns/1``,
  defined in ``tabular_classifier.log_records``, whose ``expand`` gives back the same per-row
  records; monitoring reads both kinds, mixed in one file);
* each batch-inference run writes ``batch-<run id>.parquet`` atomically (temporary file, then
  rename), so a failed batch never leaves a partial file.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from serving.log_lines import (
    META_COLUMNS,
    encode_records,
    prediction_ids,
    serving_lines,
    serving_records,
)

__all__ = [
    "META_COLUMNS",
    "JsonlPredictionWriter",
    "encode_records",
    "prediction_ids",
    "prediction_log_dir",
    "serving_lines",
    "serving_records",
    "utc_now",
    "write_batch",
]


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


def uuid4_hex() -> str:
    """A random RFC 4122 version-4 UUID as 32 lowercase hex digits, as ``uuid.uuid4().hex``.

    The same 122 random bits from ``os.urandom`` with the version and variant bits set as
    RFC 4122 section 4.4 says, without building a ``uuid.UUID`` object: about 1 µs instead of
    about 4 µs, on every request of the gateway (request and prediction ids).
    """
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # variant 10xx (RFC 4122)
    return raw.hex()


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
        self._day_ends = 0.0  # epoch seconds of the next UTC midnight after self._day's file opened
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
        now = time.time()
        with self._lock:
            # POSIX time has exactly 86,400 s per UTC day: the day's name is formatted only
            # when a midnight has passed (or nothing is open), not on every request.
            if now >= self._day_ends or self._fd is None:
                day = time.strftime("%Y-%m-%d", time.gmtime(now))
                if day != self._day or self._fd is None:
                    self.close_unlocked()
                    self._open(day)
                self._day_ends = (now // 86_400 + 1) * 86_400
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
