"""Materializer for :class:`tabular_classifier.evaluation.EvaluationReport`.

Layout under the artifact URI: ``report.json`` (metrics, confusion matrix, curves, smoke
sample), ``classification_report.txt``, ``report.md`` and one PNG per plot. The dashboard shows
the Markdown report and one image per plot (``tabular_classifier.evaluation.PLOT_NAMES``).
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar

from zenml.enums import ArtifactType, VisualizationType
from zenml.io import fileio
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.metadata.metadata_types import MetadataType

from tabular_classifier.evaluation import EvaluationReport

REPORT_JSON = "report.json"
REPORT_TEXT = "classification_report.txt"
REPORT_MARKDOWN = "report.md"
PLOT_NAMES = (
    "confusion_matrix",
    "roc_curve",
    "precision_recall_curve",
    "reliability_diagram",
)


class EvaluationReportMaterializer(BaseMaterializer):
    """Saves and loads :class:`EvaluationReport` as JSON, text and PNG files."""

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (EvaluationReport,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA_ANALYSIS

    def load(self, data_type: type[Any]) -> EvaluationReport:
        """Read the report back.

        Args:
            data_type: ``EvaluationReport``.

        Returns:
            The report, with its plots.

        Raises:
            FileNotFoundError: If ``report.json`` is missing under the artifact URI.
        """
        path = os.path.join(self.uri, REPORT_JSON)
        if not fileio.exists(path):
            raise FileNotFoundError(f"{path}: evaluation report file missing")
        with fileio.open(path, "r") as handle:
            data = json.load(handle)
        plots: dict[str, bytes] = {}
        for name in PLOT_NAMES:
            png = os.path.join(self.uri, f"{name}.png")
            if fileio.exists(png):
                with fileio.open(png, "rb") as handle:
                    plots[name] = handle.read()
        return EvaluationReport.from_json_dict(data, plots)

    def save(self, data: EvaluationReport) -> None:
        """Write the plots, the classification report text, and last the JSON report.

        ``report.json`` is written last: :meth:`load` refuses a directory without it, so an
        interrupted save never loads as a partial report.

        Args:
            data: The report.
        """
        for name, png in data.plots.items():
            with fileio.open(os.path.join(self.uri, f"{name}.png"), "wb") as handle:
                handle.write(png)
        with fileio.open(os.path.join(self.uri, REPORT_TEXT), "w") as handle:
            handle.write(data.classification_report_text)
        payload = json.dumps(data.to_json_dict(), indent=1)
        with fileio.open(os.path.join(self.uri, REPORT_JSON), "w") as handle:
            handle.write(payload)

    def save_visualizations(self, data: EvaluationReport) -> dict[str, VisualizationType]:
        """Write the Markdown report and point the dashboard at it and the saved plots.

        Args:
            data: The report.

        Returns:
            The report (MARKDOWN) and each PNG plot (IMAGE), keyed by URI.
        """
        visualizations: dict[str, VisualizationType] = {}
        md_path = os.path.join(self.uri, REPORT_MARKDOWN)
        with fileio.open(md_path, "w") as handle:
            handle.write(data.to_markdown())
        visualizations[md_path] = VisualizationType.MARKDOWN
        for name in data.plots:
            visualizations[os.path.join(self.uri, f"{name}.png")] = VisualizationType.IMAGE
        return visualizations

    def extract_metadata(self, data: EvaluationReport) -> dict[str, MetadataType]:
        """Test metrics and the confusion counts, shown beside the artifact.

        Args:
            data: The report.

        Returns:
            Every ``test_*`` metric plus ``n_rows``, ``positive_rate`` and the four confusion
            counts (``true_negatives`` ... ``true_positives``).
        """
        (tn, fp), (fn, tp) = data.confusion_matrix
        metadata: dict[str, MetadataType] = {k: float(v) for k, v in data.metrics.items()}
        metadata.update(
            {
                "n_rows": data.n_rows,
                "positive_rate": data.positive_rate,
                "true_negatives": tn,
                "false_positives": fp,
                "false_negatives": fn,
                "true_positives": tp,
            }
        )
        return metadata
