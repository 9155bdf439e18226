"""Two models on two data sets served at once, each against its own contract."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import numpy as np
import pytest

from tests.e2e.deployment.helpers import (
    DEPLOY,
    MODEL_NAME,
    payload,
    post,
    release_status,
)
from tests.e2e.workspace import Workspace

pytestmark = pytest.mark.e2e


SECOND_MODEL = "breast_mean_classifier"


@pytest.mark.usefixtures("serving_production")
def test_two_models_on_two_data_sets_are_served_at_once(
    workspace: Workspace, model_versions: dict[str, str], zenml_client: Any
) -> None:
    """A second model, trained on another table (the ten "mean" features only), deployed
    beside the first: each is served at /models/NAME/invocations against its own contract,
    /invocations stays the first's, and rolling back or stopping the second leaves the first
    serving, untouched."""
    import pandas as pd

    first = release_status(workspace)["active"]
    table = pd.read_csv(workspace.root / "data" / "breast_cancer.csv")
    means = [c for c in table.columns if c.startswith("mean ")]
    table[[*means, "target"]].to_csv(workspace.root / "data" / "breast_mean.csv", index=False)
    training = workspace.write_config(
        "training_second_model",
        {
            "parameters": {
                "model_name": SECOND_MODEL,
                "data": {"path": "data/breast_mean.csv", "target": "target", "positive_label": 1},
                "promotion": {"metric": "test_roc_auc", "min_accuracy": 0.8, "min_roc_auc": 0.8},
            }
        },
    )
    workspace.zenml_pipeline_run(training)
    deployment = workspace.write_config(
        "deploy_second_model",
        {"parameters": {"model_name": SECOND_MODEL, "version": None}},
        base_config="deployment.yaml",
    )
    workspace.zenml_pipeline_run(deployment, pipeline=DEPLOY)
    status = release_status(workspace)
    assert status["default_model"] == MODEL_NAME and status["active"] == first
    assert {MODEL_NAME, SECOND_MODEL} <= set(status["models"])
    for name in (MODEL_NAME, SECOND_MODEL):
        served = status["models"][name]
        assert served["active_server_healthy"] is True
        version = zenml_client.get_model_version(name, served["active_version"])
        report = version.get_artifact("evaluation_report").load()
        request = urllib.request.Request(
            served["endpoint"],
            data=payload(report.smoke_frame()),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = json.loads(response.read())
        assert body["model_version"] == served["active_version"]
        np.testing.assert_allclose(
            [p["probability"] for p in body["predictions"]], report.smoke_probabilities, atol=1e-6
        )
    second = zenml_client.get_model_version(
        SECOND_MODEL, status["models"][SECOND_MODEL]["active_version"]
    )
    second_rows = payload(second.get_artifact("evaluation_report").load().smoke_frame())
    code, body = post(second_rows)  # /invocations: the first model's contract
    assert code == 422 and "missing columns" in body["message"]
    rollback = workspace.run(
        "python", "-m", "release", "rollback", "--model", SECOND_MODEL, check=False
    )
    assert rollback.returncode == 1 and f"version of '{SECOND_MODEL}'" in rollback.stderr
    second_routes = release_status(workspace, "--model", SECOND_MODEL)
    servers = sum(second_routes[route] is not None for route in ("active", "previous"))
    others = [n for n, m in second_routes["models"].items() if m["served"] and n != SECOND_MODEL]
    assert MODEL_NAME in others
    stop = workspace.run("python", "-m", "release", "stop", "--model", SECOND_MODEL)
    assert servers >= 1 and stop.stdout.splitlines()[-2:] == [
        f"stopped {servers} model server{'s' * (servers != 1)} of '{SECOND_MODEL}'; "
        f"the gateway still serves: {', '.join(others)}",
        f"details: python -m release status --model {SECOND_MODEL}",
    ]
    after = release_status(workspace)
    assert after["active"] == first and after["models"][SECOND_MODEL]["active_version"] is None
    assert after["models"][SECOND_MODEL]["served"] is False
    assert after["models"][SECOND_MODEL]["endpoint"] is None
    assert after["active_server_healthy"] is True and after["default_model"] == MODEL_NAME
    code, _ = post(
        payload(
            zenml_client.get_model_version(MODEL_NAME, first["model_version"])
            .get_artifact("evaluation_report")
            .load()
            .smoke_frame()
        )
    )
    assert code == 200
