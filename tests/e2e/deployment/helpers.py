"""Helpers of the deployment tests: the gateway's URL, requests to it, deployments, status.

The gateway listens on ``$TABULAR_GATEWAY_PORT`` (a free port ``tests/e2e/workspace.py``
picks for the session); the deployment pipeline runs in the session's isolated workspace.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.e2e.workspace import Workspace

MODEL_NAME = "breast_cancer_classifier"
DEPLOY = "pipelines.deployment.deployment_pipeline"


def gateway_url() -> str:
    """``http://127.0.0.1:<port>`` of the session's gateway."""
    return f"http://127.0.0.1:{os.environ['TABULAR_GATEWAY_PORT']}"


def post(body: bytes, timeout: float = 10.0) -> tuple[int, dict[str, Any]]:
    """POST ``body`` to the gateway's ``/invocations``; (HTTP status, decoded JSON answer)."""
    request = urllib.request.Request(
        f"{gateway_url()}/invocations", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def payload(frame: Any) -> bytes:
    """A pandas frame as an MLflow ``dataframe_split`` request body."""
    return json.dumps(
        {"dataframe_split": {"columns": list(frame.columns), "data": frame.values.tolist()}}
    ).encode()


def deploy(workspace: Workspace, version: str | None, check: bool = True) -> Any:
    """Run the deployment pipeline for ``version`` (``None``: production) of the model."""
    config = workspace.write_config(
        f"deploy_{version}", {"parameters": {"version": version}}, base_config="deployment.yaml"
    )
    return workspace.zenml_pipeline_run(config, check=check, pipeline=DEPLOY)


def versions(zenml_client: Any) -> list[Any]:
    """The model's ZenML versions, oldest first."""
    return zenml_client.list_model_versions(MODEL_NAME, sort_by="asc:number", size=100).items


def release_status(workspace: Workspace, *args: str) -> dict[str, Any]:
    """``python -m release status [args]``, decoded."""
    return json.loads(workspace.run("python", "-m", "release", "status", *args).stdout)


def serve(workspace: Workspace, version: str | None, expected: str) -> dict[str, Any]:
    """Make ``expected`` the active, healthy version, deploying ``version`` unless it already is.

    Args:
        workspace: The session's workspace.
        version: What to pass to the deployment pipeline (``None``: production).
        expected: The ZenML version number that must be active afterwards.

    Returns:
        ``release status`` afterwards.
    """
    status = release_status(workspace)
    active = status["active"]
    if (
        active is None
        or active["model_version"] != expected
        or not status["active_server_healthy"]
        or not status["gateway_running"]
    ):
        deploy(workspace, version)
        status = release_status(workspace)
    assert status["active"]["model_version"] == expected, status
    return status


def prediction_log_dir() -> Path:
    """Where the gateway and batch inference write their prediction logs."""
    from zenml.config.global_config import GlobalConfiguration

    return Path(GlobalConfiguration().config_directory) / "serving" / "predictions"
