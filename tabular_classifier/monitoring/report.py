"""The ``drift_report`` artifact: Evidently's report of one window, as numbers and as its own page.

Evidently's HTML page draws everything with JavaScript. ZenML 0.98's dashboard shows an HTML
visualization in an iframe sandboxed without ``allow-scripts``
(``zenml/zen_server/dashboard``: ``<iframe sandbox="" srcDoc=...>``), so that page is blank
there. The report therefore keeps Evidently's JSON result (``Report.json()``: every metric,
with each column's 10-bin "small distribution" of the reference and the current data) beside
the page, and the dashboard shows a static view drawn from the JSON (see
``materializers/drift_report_view.py``); Evidently's interactive page stays in the artifact
for a browser.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tabular_classifier.monitoring.drift import DriftSummary


@dataclass
class DriftReport:
    """Evidently's drift report of one window.

    Attributes:
        summary: The drift summary read out of the report (headline numbers per column).
        result: Evidently's JSON result: ``{"metrics": [{"metric": name, "result": {...}},
            ...]}``; empty when no report ran (too few rows).
        evidently_html: Evidently's own interactive page (several MB; needs JavaScript);
            empty when no report ran.
    """

    summary: DriftSummary
    result: dict[str, Any] = field(default_factory=dict)
    evidently_html: str = ""

    @classmethod
    def from_evidently(cls, report: Any, summary: DriftSummary) -> DriftReport:
        """Keep a computed Evidently report.

        Args:
            report: A computed ``evidently.legacy.report.Report`` (or the object ZenML's
                Evidently data validator returns).
            summary: The summary read out of it.

        Returns:
            The report with its JSON result (Evidently's own encoder: NumPy values become JSON
            numbers) and its HTML page.
        """
        return cls(
            summary=summary, result=json.loads(report.json()), evidently_html=report.get_html()
        )

    def distributions(self, column: str) -> dict[str, dict[str, list[Any]]]:
        """A column's binned distributions in the reference and the current data.

        Args:
            column: A feature, or the prediction's probability or label column.

        Returns:
            ``{"reference": {"x": [...], "y": [...]}, "current": {...}}``: for a numeric column
            ``x`` holds 11 bin edges and ``y`` 10 densities; for a categorical one ``x`` holds
            the categories and ``y`` their counts. Empty when the report has no distribution
            for the column.
        """
        for metric in self.result.get("metrics", []):
            result = metric.get("result", {})
            found = result.get("drift_by_columns", {}).get(column)
            if found is None and result.get("column_name") == column and "current" in result:
                found = result
            if found is not None and "small_distribution" in found.get("current", {}):
                return {
                    side: found[side]["small_distribution"] for side in ("reference", "current")
                }
        return {}
