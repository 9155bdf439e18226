"""What the current data is: the prediction log's column names and :class:`WindowInfo`.

Split from :mod:`tabular_classifier.monitoring.window` so that the readers (pass 1 in
:mod:`~tabular_classifier.monitoring.window_index`, pass 2 in ``window``) and the steps and
materializers that only describe a window share these without importing the readers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tabular_classifier.monitoring.log_files import SkippedRows

PROBABILITY = "probability"
LABEL = "label"
TIMESTAMP = "timestamp"
MODEL_VERSION = "model_version"
LATENCY = "latency_ms"
PREDICTION_ID = "prediction_id"
REQUEST_ID = "request_id"
# Names used for the prediction columns in the monitoring reference (``reference_data``).
REFERENCE_PROBABILITY = "prediction_probability"
REFERENCE_LABEL = "prediction_label"


@dataclass
class WindowInfo:
    """What the current data is.

    Attributes:
        sources: The files read (prediction-log files or the configured file).
        start: Timestamp of the oldest row in the window (ISO 8601), or None without timestamps.
        end: Timestamp of the newest row, or None.
        rows_in_window: Rows that matched the window (time range, model version, last_n).
        rows_used: Rows handed to Evidently: ``rows_in_window``, or the sample's size, less
            the rows left out (``skipped``).
        sampled: Whether the rows were sampled (``rows_in_window > max_rows``).
        model_version: The model version monitored.
        other_versions: Rows in the time range made by other model versions, left out.
        latency: ``{"n", "p50_ms", "p95_ms", "p99_ms"}`` over every served request of the
            window (one value per ``request_id``; batch rows have none); ``n = 0`` when there
            are none.
        selection: The window settings used, as given.
        skipped: ``SkippedRows.to_dict()``: the lines and rows of the prediction log left out
            (torn lines, rows the row contract refuses, bad probabilities or timestamps), with
            their file and line.
    """

    sources: list[str]
    start: str | None
    end: str | None
    rows_in_window: int
    rows_used: int
    sampled: bool
    model_version: str | None
    other_versions: dict[str, int] = field(default_factory=dict)
    latency: dict[str, float] = field(default_factory=dict)
    selection: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, Any] = field(default_factory=lambda: SkippedRows().to_dict())

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary."""
        return asdict(self)
