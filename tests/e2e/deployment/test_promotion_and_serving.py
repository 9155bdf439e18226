"""Promotion with registry aliases, and serving production, a cached-training version and
nothing but the deployed server (a decoy on the deployer's next port is never routed to)."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.e2e.deployment.helpers import (
    MODEL_NAME,
    deploy,
    gateway_url,
    payload,
    post,
    release_status,
)
from tests.e2e.workspace import Workspace

pytestmark = pytest.mark.e2e


def test_first_candidate_was_promoted_with_aliases(
    model_versions: dict[str, str], zenml_client: Any, mlflow_client: Any
) -> None:
    production = zenml_client.get_model_version(MODEL_NAME, "production")
    promotion = production.run_metadata["promotion"]
    assert promotion["promote"] is True
    assert promotion["metric"] == "test_roc_auc"
    registered = production.run_metadata["registration"]["registered_version"]
    assert (
        str(mlflow_client.get_model_version_by_alias(MODEL_NAME, "champion").version) == registered
    )
    kept = zenml_client.get_model_version(MODEL_NAME, model_versions["cached"])
    decision = kept.run_metadata["promotion"]
    assert decision["promote"] is False
    assert "does not beat production" in decision["reason"]
    assert decision["production_value"] == decision["candidate_value"]
    assert str(kept.stage) != "production"


def test_deploy_production_and_predict_over_http(
    workspace: Workspace, model_versions: dict[str, str], zenml_client: Any
) -> None:
    deploy(workspace, None)
    version = zenml_client.get_model_version(MODEL_NAME, model_versions["production"])
    report = version.get_artifact("evaluation_report").load()
    status, body = post(payload(report.smoke_frame()))
    assert status == 200, body
    assert body["model_version"] == model_versions["production"]
    served = np.array([p["probability"] for p in body["predictions"]])
    np.testing.assert_allclose(served, report.smoke_probabilities, rtol=0, atol=1e-6)
    assert {p["label"] for p in body["predictions"]} <= {"0", "1"}
    metrics = urllib.request.urlopen(f"{gateway_url()}/metrics").read().decode()
    assert (
        f'gateway_predictions_total{{model_name="{MODEL_NAME}",'
        f'model_version="{model_versions["production"]}"}}'
    ) in metrics


MARKER = "17.98765432101"


@pytest.mark.usefixtures("serving_production")
def test_a_decoy_on_the_deployers_port_is_never_routed_to(
    workspace: Workspace, model_versions: dict[str, str], zenml_client: Any
) -> None:
    """A decoy answering /ping and /invocations exactly like the model server (same version,
    same probabilities) listens on the port ZenML's deployer would pick next: the deployment
    lands on another port, and nothing the gateway receives reaches the decoy."""
    import socket
    import sys

    from zenml.utils.networking_utils import scan_for_available_port

    version = zenml_client.get_model_version(MODEL_NAME, model_versions["cached"])
    report = version.get_artifact("evaluation_report").load()
    port = scan_for_available_port(8000)
    assert port is not None
    decoy_script = Path(__file__).parents[2] / "integration" / "model_server_process.py"
    decoy = subprocess.Popen(
        [
            sys.executable,
            str(decoy_script),
            "--port",
            str(port),
            "--reuse-port",
            "--version",
            model_versions["cached"],
            "--probabilities",
            json.dumps([float(p) for p in report.smoke_probabilities]),
            "--marker",
            MARKER,
        ]
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline and decoy.poll() is None
            time.sleep(0.1)
        assert scan_for_available_port(8000) == port  # ZenML's probe still calls it free
        deploy(workspace, model_versions["cached"])
        status = release_status(workspace)
        assert status["active"]["model_version"] == model_versions["cached"]
        assert f":{port}/" not in status["active"]["url"]
        assert status["active_server_healthy"] is True
        # Our requests carry a value no other program sends: on a shared machine, other
        # programs' model servers can be pointed at the decoy's port and send it traffic.
        frame = report.smoke_frame()
        frame.iloc[0, 0] = float(MARKER)
        for _ in range(20):
            code, body = post(payload(frame))
            assert code == 200 and body["model_version"] == model_versions["cached"]
        count = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/count").read())
        assert count["marked"] == 0
    finally:
        decoy.kill()
        decoy.wait(timeout=10)


@pytest.mark.usefixtures("serving_production")
def test_deploys_a_version_whose_training_was_cached(
    workspace: Workspace, model_versions: dict[str, str], zenml_client: Any
) -> None:
    version = zenml_client.get_model_version(MODEL_NAME, model_versions["cached"])
    run = zenml_client.get_pipeline_run(model_versions["cached_run"])
    assert str(run.steps["train_model"].status) in ("cached", "ExecutionStatus.CACHED")
    deploy(workspace, model_versions["cached"])
    report = version.get_artifact("evaluation_report").load()
    status, body = post(payload(report.smoke_frame()))
    assert status == 200 and body["model_version"] == model_versions["cached"]
