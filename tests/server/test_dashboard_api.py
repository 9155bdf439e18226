"""What the ZenML dashboard shows, read through the server's REST API (`/api/v1/...`).

The server itself loads the visualizations from the S3 artifact store, with the credentials of
the stack's ZenML secret: this is what the dashboard's artifact view displays.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tabular_classifier.evaluation import PLOT_NAMES
from tests.server.conftest import ServerWorkspace

pytestmark = pytest.mark.server

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_rest_api_lists_the_runs(server_workspace: ServerWorkspace, server_run: dict) -> None:
    runs = server_workspace.api("runs?size=100&sort_by=desc:created")
    listed = {r["id"]: r for r in runs["items"]}
    assert server_run["run_id"] in listed
    assert listed[server_run["run_id"]]["body"]["status"] == "completed"
    pipelines = server_workspace.api("pipelines?size=20")["items"]
    assert "training_pipeline" in {p["name"] for p in pipelines}


def test_classifier_artifact_shows_its_model_card(
    server_workspace: ServerWorkspace, server_run: dict
) -> None:
    classifier = server_workspace.step_output(server_run["run_id"], "train_model", "classifier")
    card = server_workspace.api(f"artifact_versions/{classifier['id']}/visualize?index=0")
    assert card["type"] == "markdown"
    assert card["value"].startswith("# Model card:")
    assert "## Validation metrics" in card["value"]
    metadata = server_workspace.api(f"artifact_versions/{classifier['id']}?hydrate=true")
    assert metadata["metadata"]["run_metadata"]["n_features"] == 30


def test_evaluation_report_shows_its_plots(
    server_workspace: ServerWorkspace, server_run: dict
) -> None:
    report = server_workspace.step_output(
        server_run["run_id"], "evaluate_model", "evaluation_report"
    )
    listed = server_workspace.api(f"artifact_versions/{report['id']}?hydrate=true")
    # What the materializer declared, in the server's order: the Markdown report and one PNG
    # per plot the evaluation drew.
    declared = [v["body"] for v in listed["metadata"]["visualizations"]]
    plots = {Path(v["uri"]).stem for v in declared if v["type"] == "image"}
    assert plots == set(PLOT_NAMES)
    assert [v["type"] for v in declared].count("markdown") == 1
    for index, visualization in enumerate(declared):
        shown = server_workspace.api(f"artifact_versions/{report['id']}/visualize?index={index}")
        assert shown["type"] == visualization["type"]
        if shown["type"] == "markdown":
            assert "test_roc_auc" in shown["value"]
        else:
            assert base64.b64decode(shown["value"]).startswith(PNG_MAGIC)
