"""Materializer for the monitoring results: the drift summary and the service-health check.

Each is written as ``summary.json`` (the whole result, JSON) plus ``summary.md`` (the dashboard's
Markdown view). The HTML drift report itself is a :class:`zenml.types.HTMLString`, saved by
ZenML's built-in HTML materializer and shown by the dashboard as is.
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar

from zenml.enums import ArtifactType, VisualizationType
from zenml.io import fileio
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.metadata.metadata_types import MetadataType

from tabular_classifier.monitoring.drift import DriftSummary
from tabular_classifier.monitoring.health import ServiceHealth

SUMMARY_JSON = "summary.json"
SUMMARY_MARKDOWN = "summary.md"

Result = DriftSummary | ServiceHealth


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def drift_markdown(summary: DriftSummary) -> str:
    """The drift summary as Markdown: verdict, window, prediction drift, drifted columns.

    Args:
        summary: The summary.

    Returns:
        Markdown text.
    """
    window = summary.window
    lines = [
        f"# Drift summary: {summary.model_name} version {summary.model_version}",
        "",
        f"**Status: {summary.status}**. {summary.message}",
        "",
        f"- Window: {window.get('rows_in_window', 0)} rows ({window.get('start')} .. "
        f"{window.get('end')}), {window.get('rows_used', 0)} used"
        + (" (sampled)" if window.get("sampled") else ""),
        f"- Reference: {summary.reference_rows} rows (the model version's training split)",
    ]
    if summary.status == "insufficient_data":
        return "\n".join(lines) + "\n"
    lines += [
        f"- Dataset drift: **{summary.dataset_drift}** (share of drifted features "
        f"{summary.share_of_drifted_columns:.2f}, threshold {summary.drift_share})",
        f"- Prediction drift: **{summary.prediction_drift}**",
        "",
        "| column | test | threshold | score | drifted |",
        "|---|---|---|---|---|",
    ]
    rows = [summary.prediction["probability"], summary.prediction["label"]]
    rows += sorted(summary.columns.values(), key=lambda c: not c["drifted"])
    for row in rows:
        lines.append(
            f"| {row['column']} | {row['stattest']} | {_fmt(row['threshold'])} | "
            f"{_fmt(row['score'])} | {'**yes**' if row['drifted'] else 'no'} |"
        )
    quality = summary.data_quality
    if any(quality.values()):
        lines += ["", "## Data quality", ""]
        for column, share in quality.get("missing_values", {}).items():
            lines.append(f"- `{column}`: {share:.2%} missing")
        for column, info in quality.get("out_of_range", {}).items():
            lines.append(
                f"- `{column}`: {info['count']} values ({info['share']:.2%}) outside the "
                f"reference range [{info['reference_min']:.4g}, {info['reference_max']:.4g}]"
            )
        for column, count in quality.get("new_categories", {}).items():
            lines.append(f"- `{column}`: {count} categories not in the reference")
    return "\n".join(lines) + "\n"


def health_markdown(health: ServiceHealth) -> str:
    """The service-health result as Markdown.

    Args:
        health: The result.

    Returns:
        Markdown text.
    """
    latency, degradation = health.latency, health.degradation
    pct = latency["percentiles"]
    lines = [
        f"# Service health: {health.model_name} version {health.model_version}",
        "",
        f"## Latency: {latency['status']}",
        "",
        f"- {pct.get('n', 0)} served requests; p50 {_fmt(pct.get('p50_ms'))} ms, p95 "
        f"{_fmt(pct.get('p95_ms'))} ms, p99 {_fmt(pct.get('p99_ms'))} ms",
        f"- SLO: {', '.join(f'{k} <= {v} ' for k, v in latency['slo_ms'].items()) or 'none'}",
    ]
    lines += [f"- **breached** {k}: {v}" for k, v in latency["breaches"].items()]
    lines += [
        "",
        f"## Degradation: {degradation['status']}",
        "",
        f"- {degradation['labelled_rows']} labelled predictions ({degradation['labels_path']})",
        "",
        "| metric | live | test | degraded |",
        "|---|---|---|---|",
    ]
    for metric, base in degradation["baseline"].items():
        live = degradation["live"].get(metric)
        lines.append(
            f"| {metric} | {_fmt(live)} | {_fmt(base)} | "
            f"{'**yes**' if metric in degradation['degraded'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"


class MonitoringResultMaterializer(BaseMaterializer):
    """Saves and loads :class:`DriftSummary` and :class:`ServiceHealth` as JSON + Markdown."""

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (DriftSummary, ServiceHealth)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA_ANALYSIS

    def load(self, data_type: type[Any]) -> Result:
        """Read the result back.

        Args:
            data_type: ``DriftSummary`` or ``ServiceHealth``.

        Returns:
            The result.

        Raises:
            FileNotFoundError: If ``summary.json`` is missing under the artifact URI.
        """
        path = os.path.join(self.uri, SUMMARY_JSON)
        if not fileio.exists(path):
            raise FileNotFoundError(f"{path}: monitoring result file missing")
        with fileio.open(path, "r") as handle:
            data = json.load(handle)
        return data_type.from_dict(data)

    def save(self, data: Result) -> None:
        """Write ``summary.json`` in one write (its content is fully encoded first).

        Args:
            data: The result.
        """
        payload = json.dumps(data.to_dict(), indent=1, allow_nan=False)
        with fileio.open(os.path.join(self.uri, SUMMARY_JSON), "w") as handle:
            handle.write(payload)

    def save_visualizations(self, data: Result) -> dict[str, VisualizationType]:
        """Write the Markdown view.

        Args:
            data: The result.

        Returns:
            The Markdown file (MARKDOWN), keyed by URI.
        """
        text = drift_markdown(data) if isinstance(data, DriftSummary) else health_markdown(data)
        path = os.path.join(self.uri, SUMMARY_MARKDOWN)
        with fileio.open(path, "w") as handle:
            handle.write(text)
        return {path: VisualizationType.MARKDOWN}

    def extract_metadata(self, data: Result) -> dict[str, MetadataType]:
        """Headline numbers shown beside the artifact.

        Args:
            data: The result.

        Returns:
            For a drift summary: status, dataset/prediction drift, share and number of drifted
            columns, rows; for service health: latency and degradation status.
        """
        if isinstance(data, DriftSummary):
            metadata: dict[str, MetadataType] = {
                "status": data.status,
                "dataset_drift": data.dataset_drift,
                "prediction_drift": data.prediction_drift,
                "share_of_drifted_columns": data.share_of_drifted_columns,
                "drifted_columns": len(data.drifted_columns),
                "rows_in_window": int(data.window.get("rows_in_window", 0)),
                "model_version": str(data.model_version),
            }
            return metadata
        return {
            "latency_status": data.latency["status"],
            "degradation_status": data.degradation["status"],
            "model_version": str(data.model_version),
        }
