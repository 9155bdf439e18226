"""Batch inference with the production model, and the README's drift demonstration through
the gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.e2e.deployment.helpers import (
    MODEL_NAME,
    prediction_log_dir,
)
from tests.e2e.workspace import Workspace

pytestmark = pytest.mark.e2e


def test_batch_inference_scores_and_logs_predictions(
    workspace: Workspace, model_versions: dict[str, str], zenml_client: Any
) -> None:
    import pandas as pd

    from tabular_classifier.predictor import Predictor

    batch = pd.read_csv(workspace.root / "data" / "breast_cancer.csv").drop(columns=["target"])
    batch.head(50).to_parquet(workspace.root / "data" / "batch.parquet")
    config = workspace.write_config(
        "batch_ok",
        {"parameters": {"path": "data/batch.parquet"}},
        base_config="batch_inference.yaml",
    )
    before = set(prediction_log_dir().glob("batch-*.parquet"))
    workspace.zenml_pipeline_run(
        config, pipeline="pipelines.batch_inference.batch_inference_pipeline"
    )
    written = set(prediction_log_dir().glob("batch-*.parquet")) - before
    assert len(written) == 1
    logged = pd.read_parquet(written.pop())
    production = zenml_client.get_model_version(MODEL_NAME, "production")
    assert len(logged) == 50
    assert set(logged["model_version"]) == {str(production.number)}
    assert set(logged["source"]) == {"batch"}
    expected = Predictor(production.get_artifact("classifier").load()).predict_proba(batch.head(50))
    np.testing.assert_array_equal(logged["probability"].to_numpy(), expected)


def _listing(folder: Path) -> list[Path]:
    """The files in ``folder``, sorted; none if it does not exist (nothing was logged yet)."""
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_bad_batch_fails_and_writes_nothing(
    workspace: Workspace, model_versions: dict[str, str], zenml_client: Any
) -> None:
    import pandas as pd

    batch = pd.read_csv(workspace.root / "data" / "breast_cancer.csv").drop(
        columns=["target", "worst area"]
    )
    batch.head(20).to_csv(workspace.root / "data" / "bad_batch.csv", index=False)
    config = workspace.write_config(
        "batch_bad",
        {"parameters": {"path": "data/bad_batch.csv"}},
        base_config="batch_inference.yaml",
    )
    before = _listing(prediction_log_dir())
    result = workspace.zenml_pipeline_run(
        config, check=False, pipeline="pipelines.batch_inference.batch_inference_pipeline"
    )
    assert result.returncode != 0
    assert "worst area" in result.stdout + result.stderr
    assert _listing(prediction_log_dir()) == before


@pytest.mark.usefixtures("serving_production")
def test_drift_demo_through_the_gateway(
    workspace: Workspace, model_versions: dict[str, str], zenml_client: Any
) -> None:
    """README's demonstration: held-out rows raise no alert, a shifted subpopulation does."""
    from alerters.jsonl_webhook import read_alerts
    from tests.e2e.workspace import ZENML_HOME

    outcomes = {}
    for kind in ("reference", "drifted"):
        sent = workspace.run("python", "-m", "scripts.drift_demo", "--kind", kind).stdout
        config = sent.strip().splitlines()[-1].split(" -c ")[-1]
        assert config.endswith(f"monitoring-{kind}.yaml"), sent
        workspace.zenml_pipeline_run(config, pipeline="pipelines.monitoring.monitoring_pipeline")
        run = zenml_client.list_pipeline_runs(
            pipeline_name="monitoring_pipeline", sort_by="desc:created", size=1
        ).items[0]
        summary = run.steps["detect_drift"].outputs["drift_summary"][0].load()
        alerts = [a for a in read_alerts(ZENML_HOME / "alerts.jsonl") if a["run"] == run.name]
        outcomes[kind] = (summary, alerts)
    reference, reference_alerts = outcomes["reference"]
    assert reference.status == "ok" and reference_alerts == []
    # every held-out row (the quickstart's test split, salt 1), through the gateway
    assert reference.window["rows_in_window"] == 126
    drifted, drifted_alerts = outcomes["drifted"]
    assert drifted.dataset_drift and drifted.prediction_drift
    assert drifted.window["rows_in_window"] == 200
    assert drifted.prediction["positive_share"]["current"] < 0.2
    assert len(drifted_alerts) == 1 and drifted_alerts[0]["severity"] == "critical"
