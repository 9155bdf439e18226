"""A one-step pipeline whose artifact is Evidently's own page, for the drift-report benchmark.

    python -m benchmarks.evidently_page_pipeline MONITORING_RUN_ID

Before ``drift_report`` became a static view, its dashboard visualization was Evidently's page
(``HTMLString``). This run publishes that page again, from the monitoring run's ``drift_report``
artifact, as the ``evidently_page`` artifact of a run, so that the benchmark can open it in the
dashboard exactly as a user opened the old report (a run's DAG, the artifact, *Load Preview*).
The dashboard's *Artifacts* tab is a ZenML Pro page, so an artifact outside a run could not be
opened there.
"""

from __future__ import annotations

import sys
from typing import Annotated

from zenml import pipeline, step
from zenml.client import Client
from zenml.types import HTMLString


@step(enable_cache=False)
def publish_evidently_page(monitoring_run_id: str) -> Annotated[HTMLString, "evidently_page"]:
    """Evidently's page of the monitoring run's drift report, as ZenML's HTML artifact."""
    run = Client().get_pipeline_run(monitoring_run_id)
    report = run.steps["detect_drift"].outputs["drift_report"][0].load()
    return HTMLString(report.evidently_html)


@pipeline(name="evidently_page_benchmark", enable_cache=False)
def evidently_page_pipeline(monitoring_run_id: str) -> None:
    """Publish Evidently's page of one monitoring run."""
    publish_evidently_page(monitoring_run_id=monitoring_run_id)


if __name__ == "__main__":
    evidently_page_pipeline(monitoring_run_id=sys.argv[1])
