"""Materializer for the drift report (:class:`tabular_classifier.monitoring.report.DriftReport`).

Layout under the artifact URI: ``evidently_report.html`` (Evidently's interactive page, for a
browser), ``evidently_result.json`` (Evidently's JSON result), ``summary.json`` (the drift
summary) and ``drift_report.html``, the dashboard's static view
(:mod:`materializers.drift_report_view`). ``summary.json`` is written last: :meth:`load`
refuses a folder without it, so an interrupted save never loads as a partial report.
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar

from zenml.enums import ArtifactType, VisualizationType
from zenml.io import fileio
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.metadata.metadata_types import MetadataType

from materializers.drift_report_view import drift_report_html
from tabular_classifier.monitoring.drift_summary import DriftSummary, json_safe
from tabular_classifier.monitoring.report import DriftReport

EVIDENTLY_HTML = "evidently_report.html"
EVIDENTLY_JSON = "evidently_result.json"
SUMMARY_JSON = "summary.json"
VIEW_HTML = "drift_report.html"


class DriftReportMaterializer(BaseMaterializer):
    """Saves and loads :class:`DriftReport` as JSON and HTML files."""

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (DriftReport,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA_ANALYSIS

    def _read(self, name: str) -> str:
        path = os.path.join(self.uri, name)
        if not fileio.exists(path):
            raise FileNotFoundError(f"{path}: drift report file missing")
        with fileio.open(path, "r") as handle:
            return str(handle.read())

    def load(self, data_type: type[Any]) -> DriftReport:
        """Read the report back.

        Args:
            data_type: ``DriftReport``.

        Returns:
            The report (Evidently's page and result are empty when no report ran).

        Raises:
            FileNotFoundError: If a file is missing under the artifact URI.
        """
        summary = DriftSummary.from_dict(json.loads(self._read(SUMMARY_JSON)))
        return DriftReport(
            summary=summary,
            result=json.loads(self._read(EVIDENTLY_JSON)),
            evidently_html=self._read(EVIDENTLY_HTML),
        )

    def save(self, data: DriftReport) -> None:
        """Write Evidently's page and result, then the summary.

        Non-finite numbers in Evidently's result (an unbounded value range, say) are stored as
        null: the JSON stays standard.

        Args:
            data: The report.
        """
        files = (
            (EVIDENTLY_HTML, data.evidently_html),
            (EVIDENTLY_JSON, json.dumps(json_safe(data.result), allow_nan=False)),
            (SUMMARY_JSON, json.dumps(data.summary.to_dict(), indent=1, allow_nan=False)),
        )
        for name, text in files:
            with fileio.open(os.path.join(self.uri, name), "w") as handle:
                handle.write(text)

    def save_visualizations(self, data: DriftReport) -> dict[str, VisualizationType]:
        """Write the dashboard's static view.

        Args:
            data: The report.

        Returns:
            The view (HTML), keyed by URI. Evidently's own page is not a visualization: the
            dashboard would show it blank (it needs JavaScript).
        """
        path = os.path.join(self.uri, VIEW_HTML)
        with fileio.open(path, "w") as handle:
            handle.write(drift_report_html(data, os.path.join(self.uri, EVIDENTLY_HTML)))
        return {path: VisualizationType.HTML}

    def extract_metadata(self, data: DriftReport) -> dict[str, MetadataType]:
        """Sizes and the verdict, shown beside the artifact.

        Args:
            data: The report.

        Returns:
            ``status``, ``dataset_drift``, ``prediction_drift`` and
            ``evidently_report_bytes`` (the size of Evidently's page, UTF-8).
        """
        return {
            "status": data.summary.status,
            "dataset_drift": data.summary.dataset_drift,
            "prediction_drift": data.summary.prediction_drift,
            "evidently_report_bytes": len(data.evidently_html.encode("utf-8")),
        }
