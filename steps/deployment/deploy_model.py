"""Deployment step: blue-green deploy a registered model version through the stack's deployer."""

from __future__ import annotations

from typing import Annotated

from zenml import log_metadata, step

from release.blue_green import DEFAULT_TIMEOUT_S, DEFAULT_TOLERANCE, DEFAULT_WORKERS, deploy
from steps.caching import NEVER_CACHE
from tabular_classifier.records import Deployment


@step(enable_cache=False, cache_policy=NEVER_CACHE)
def deploy_model(
    model_name: str,
    version: str | None = None,
    smoke_test_tolerance: float = DEFAULT_TOLERANCE,
    start_timeout_s: int = DEFAULT_TIMEOUT_S,
    workers: int = DEFAULT_WORKERS,
) -> Annotated[Deployment, "deployment"]:
    """Deploy from the registry (never "the model logged in this run"), blue-green.

    Works the same when the training run was served from ZenML's cache, since the model is
    looked up by version in the Model Control Plane and the MLflow registry.

    Args:
        model_name: The ZenML model name.
        version: A model version number; default: the current production version.
        smoke_test_tolerance: Largest accepted absolute difference between the served
            probabilities and those recorded at evaluation.
        start_timeout_s: Seconds to wait for the new model server.
        workers: Uvicorn worker processes of the new model server.

    Returns:
        The deployment record (active and previous versions, service id, URLs, smoke result).

    Raises:
        DeploymentError: If the health check or smoke test fails; the running version keeps
            serving.
    """
    record = Deployment.model_validate(
        deploy(model_name, version, smoke_test_tolerance, start_timeout_s, workers)
    )
    log_metadata(
        metadata={"deployment": record.model_dump(mode="json")},
        model_name=model_name,
        model_version=record.model_version,
    )
    return record
