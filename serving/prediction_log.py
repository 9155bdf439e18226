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
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

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


class JsonlPredictionWriter:
    """Thread-safe appender of JSON lines, one file per UTC day."""

    def __init__(self, directory: Path) -> None:
        """Write under ``directory`` (created if missing)."""
        self._directory = directory
        self._directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._day = ""
        self._handle: IO[str] | None = None

    def write(self, records: list[dict[str, Any]]) -> None:
        """Append records (already JSON-safe) and flush, so readers see whole lines."""
        lines = b"".join(orjson.dumps(r, default=str) + b"\n" for r in records).decode()
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        with self._lock:
            if day != self._day or self._handle is None:
                if self._handle is not None:
                    self._handle.close()
                self._handle = open(  # noqa: SIM115 - kept open across requests
                    self._directory / f"serving-{day}.jsonl", "a", encoding="utf-8"
                )
                self._day = day
            self._handle.write(lines)
            self._handle.flush()

    def close(self) -> None:
        """Close the current file."""
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


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


def read_prediction_log(
    directory: Path | None = None, since: str | None = None, last_n: int | None = None
) -> pd.DataFrame:
    """Read the whole log (serving JSON lines and batch Parquet files) as one frame.

    Args:
        directory: Default :func:`prediction_log_dir`.
        since: Keep rows with ``timestamp >= since`` (ISO 8601, UTC).
        last_n: Keep only the newest ``last_n`` rows.

    Returns:
        The rows, sorted by timestamp; empty (no columns) when the log is empty.
    """
    directory = directory or prediction_log_dir()
    frames = [pd.read_parquet(p) for p in sorted(directory.glob("batch-*.parquet"))]
    frames += [
        pd.read_json(p, lines=True, dtype=False)
        for p in sorted(directory.glob("serving-*.jsonl"))
        if p.stat().st_size > 0
    ]
    if not frames:
        return pd.DataFrame()
    log = pd.concat(frames, ignore_index=True)
    log = log.sort_values("timestamp", kind="stable").reset_index(drop=True)
    if since is not None:
        log = log[log["timestamp"] >= since]
    if last_n is not None:
        log = log.tail(last_n)
    return log.reset_index(drop=True)
