"""Fixtures of the deployment tests: the model versions they deploy, and the serving state each
test starts from.

``model_versions`` trains once for the package; each test then asks for the serving state it
needs (``serving``, ``serving_production``, ``baseline_after_production``) instead of relying
on what an earlier test left behind, so any test can run alone (``pytest -k``) or in any
order. A fixture deploys only what is not already in place.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.deployment.helpers import MODEL_NAME, deploy, release_status, serve, versions
from tests.e2e.workspace import Workspace


@pytest.fixture(scope="package")
def model_versions(
    workspace: Workspace, quickstart: subprocess.CompletedProcess[str], zenml_client: Any
) -> Iterator[dict[str, str]]:
    """production (quickstart), cached (training served from cache) and baseline versions.

    After the package's last test: the deployments are stopped and the model servers deleted.
    """
    production = zenml_client.get_model_version(MODEL_NAME, "production")
    workspace.zenml_pipeline_run("configs/training.yaml")
    cached = versions(zenml_client)[-1]
    cached_run = zenml_client.list_pipeline_runs(
        pipeline_name="training_pipeline", sort_by="desc:created", size=1
    ).items[0]
    baseline_config = workspace.write_config(
        "training_baseline",
        {
            "parameters": {
                "model_config_path": "configs/models-configs/model_config_000.yaml",
                # Keep it out of production so that "production" stays the quickstart's model.
                "promotion": {"min_improvement": 1.0},
            }
        },
    )
    workspace.zenml_pipeline_run(baseline_config)
    baseline = versions(zenml_client)[-1]
    yield {
        "production": str(production.number),
        "cached": str(cached.number),
        "baseline": str(baseline.number),
        "cached_run": str(cached_run.id),
    }
    workspace.run("python", "-m", "release", "stop", check=False)
    deployer = zenml_client.active_stack.model_deployer
    for service in deployer.find_model_server():
        deployer.delete_model_server(service.uuid, force=True)


@pytest.fixture
def serving_production(workspace: Workspace, model_versions: dict[str, str]) -> dict[str, Any]:
    """The production version is the active, healthy deployment (deployed unless it already
    is); returns ``release status``."""
    return serve(workspace, None, model_versions["production"])


@pytest.fixture
def baseline_after_production(
    workspace: Workspace, model_versions: dict[str, str]
) -> dict[str, Any]:
    """Production deployed, then the baseline version (which promotion refused) explicitly:
    baseline is active and production is kept as previous; returns ``release status``.

    Nothing is deployed if that is already the state.
    """
    status = release_status(workspace)
    active, previous = status["active"], status["previous"]
    if (
        active is not None
        and previous is not None
        and active["model_version"] == model_versions["baseline"]
        and previous["model_version"] == model_versions["production"]
        and status["active_server_healthy"]
        and status["gateway_running"]
    ):
        return status
    serve(workspace, None, model_versions["production"])
    deploy(workspace, model_versions["baseline"])
    status = serve(workspace, model_versions["baseline"], model_versions["baseline"])
    assert status["previous"]["model_version"] == model_versions["production"], status
    return status


@pytest.fixture
def serving(workspace: Workspace, model_versions: dict[str, str]) -> dict[str, Any]:
    """Some version of the model is the active, healthy deployment (production is deployed if
    none is); returns ``release status``."""
    status = release_status(workspace)
    if (
        status["active"] is not None
        and status["active"]["model_name"] == MODEL_NAME
        and status["active_server_healthy"]
        and status["gateway_running"]
    ):
        return status
    return serve(workspace, None, model_versions["production"])
