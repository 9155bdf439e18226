"""The fast path on a real deployment: the gateway scores the deployed model in process.

The deployment pipeline (ZenML's MLflow model deployer, health check, identity, smoke test)
also stages a copy of the same MLflow model; the gateway scores it with the NumPy scorer and
answers as the model server does, and keeps answering when the model server is killed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.e2e.workspace import Workspace

pytestmark = pytest.mark.e2e

MODEL_NAME = "breast_cancer_classifier"
DEPLOY = "pipelines.deployment.deployment_pipeline"


def _gateway() -> str:
    return f"http://127.0.0.1:{os.environ['TABULAR_GATEWAY_PORT']}"


def _post(url: str, body: bytes) -> dict[str, Any]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def test_the_deployed_model_is_scored_in_the_gateway(
    workspace: Workspace, quickstart: subprocess.CompletedProcess[str], zenml_client: Any
) -> None:
    config = workspace.write_config(
        "deploy_fast_path", {"parameters": {"version": None}}, base_config="deployment.yaml"
    )
    workspace.zenml_pipeline_run(config, pipeline=DEPLOY)
    try:
        status = json.loads(workspace.run("python", "-m", "release", "status").stdout)
        active = status["active"]
        staged = Path(active["model_path"])
        assert active["deployment_id"] in staged.parts and staged.is_dir()
        manifest = json.loads((staged / "deployment.json").read_text())
        assert manifest["model_uri"] == f"models:/{MODEL_NAME}/{active['registered_version']}"
        assert manifest["model_name"] == MODEL_NAME
        assert manifest["model_version"] == active["model_version"]
        health = json.loads(urllib.request.urlopen(f"{_gateway()}/health").read())
        assert health["scoring"] == "in_process" and health["status"] == "ok"

        version = zenml_client.get_model_version(MODEL_NAME, active["model_version"])
        frame = version.get_artifact("evaluation_report").load().smoke_frame()
        body = json.dumps(
            {"dataframe_split": {"columns": list(frame.columns), "data": frame.values.tolist()}}
        ).encode()
        ours = _post(f"{_gateway()}/invocations", body)
        server = _post(active["url"], body)  # the deployer's model server, directly
        np.testing.assert_allclose(
            [p["probability"] for p in ours["predictions"]],
            [p["probability"] for p in server["predictions"]],
            rtol=0,
            atol=1e-6,
        )
        assert [p["label"] for p in ours["predictions"]] == [
            p["label"] for p in server["predictions"]
        ]
        assert {p["model_version"] for p in ours["predictions"]} == {active["model_version"]}

        # The model server dies: the gateway answers at once, from its own process.
        os.kill(active["server_pid"], signal.SIGKILL)
        time.sleep(0.5)
        again = _post(f"{_gateway()}/invocations", body)
        assert again["predictions"] == ours["predictions"]
        health = json.loads(urllib.request.urlopen(f"{_gateway()}/health").read())
        assert health["scoring"] == "in_process" and health["model_server"] != "ok"
        deadline = time.monotonic() + 180
        while True:  # the supervisor still restarts it
            status = json.loads(workspace.run("python", "-m", "release", "status").stdout)
            if status["active"]["server_pid"] != active["server_pid"]:
                if status["active_server_healthy"]:
                    break
            assert time.monotonic() < deadline, "the model server was not restarted"
            time.sleep(2.0)
    finally:
        workspace.run("python", "-m", "release", "stop", check=False)
    assert not staged.exists()  # stop deletes the copies with the servers
