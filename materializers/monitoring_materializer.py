"""Materializer for the monitoring results: window, drift summary, service health and outcome.

Each is written as ``summary.json`` (the whole result, JSON) plus ``summary.md`` (the dashboard's
Markdown view, from :mod:`materializers.monitoring_views`). The drift report itself has its own
materializer (:mod:`materializers.drift_report_materializer`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from zenml.metadata.metadata_types import MetadataType

from materializers.json_record import JsonRecordMaterializer
from materializers.monitoring_views import (
    drift_markdown,
    health_markdown,
    outcome_markdown,
    window_markdown,
)
from tabular_classifier.monitoring.drift import DriftSummary
from tabular_classifier.monitoring.health import ServiceHealth
from tabular_classifier.monitoring.outcome import MonitoringOutcome
from tabular_classifier.monitoring.window import WindowInfo

SUMMARY_JSON = "summary.json"
SUMMARY_MARKDOWN = "summary.md"

Result = DriftSummary | ServiceHealth | WindowInfo | MonitoringOutcome


def _markdown(data: Result) -> str:
    if isinstance(data, DriftSummary):
        return drift_markdown(data)
    if isinstance(data, ServiceHealth):
        return health_markdown(data)
    if isinstance(data, WindowInfo):
        return window_markdown(data)
    return outcome_markdown(data)


class MonitoringResultMaterializer(JsonRecordMaterializer):
    """Saves and loads the monitoring results as JSON + Markdown.

    Handles :class:`WindowInfo`, :class:`DriftSummary`, :class:`ServiceHealth` and
    :class:`MonitoringOutcome`.
    """

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (
        DriftSummary,
        ServiceHealth,
        WindowInfo,
        MonitoringOutcome,
    )
    JSON_NAME: ClassVar[str] = SUMMARY_JSON
    MARKDOWN_NAME: ClassVar[str] = SUMMARY_MARKDOWN
    RECORD_KIND: ClassVar[str] = "monitoring result"

    def load(self, data_type: type[Any]) -> Result:
        """Read the result back.

        Args:
            data_type: One of the associated types.

        Returns:
            The result.

        Raises:
            FileNotFoundError: If ``summary.json`` is missing under the artifact URI.
        """
        data = self.read_json()
        if data_type is WindowInfo:
            # WindowInfo.to_dict is dataclasses.asdict of flat fields: its keywords invert it.
            return WindowInfo(**data)
        result: Result = data_type.from_dict(data)
        return result

    def markdown(self, data: Result) -> str:
        """The Markdown view of whichever result ``data`` is."""
        return _markdown(data)

    def extract_metadata(self, data: Result) -> dict[str, MetadataType]:
        """Headline numbers shown beside the artifact.

        Args:
            data: The result.

        Returns:
            For a drift summary: status, dataset/prediction drift, share and number of drifted
            columns, rows; for service health: latency and degradation status; for a window:
            its rows, whether sampled, and its time span; for an outcome: the alerts sent and
            the three statuses.
        """
        if isinstance(data, DriftSummary):
            return {
                "status": data.status,
                "dataset_drift": data.dataset_drift,
                "prediction_drift": data.prediction_drift,
                "share_of_drifted_columns": data.share_of_drifted_columns,
                "drifted_columns": len(data.drifted_columns),
                "rows_in_window": int(data.window.get("rows_in_window", 0)),
                "model_version": str(data.model_version),
            }
        if isinstance(data, ServiceHealth):
            return {
                "latency_status": data.latency["status"],
                "degradation_status": data.degradation["status"],
                "model_version": str(data.model_version),
            }
        if isinstance(data, WindowInfo):
            return {
                "rows_in_window": data.rows_in_window,
                "rows_used": data.rows_used,
                "sampled": data.sampled,
                "start": str(data.start),
                "end": str(data.end),
                "model_version": str(data.model_version),
            }
        return {
            "alerts": len(data.alerts),
            "drift_status": data.drift_status,
            "latency_status": data.latency_status,
            "degradation_status": data.degradation_status,
            "model_version": str(data.model_version),
        }
