"""Deployment pipeline: blue-green deploy the production (or a given) model version.

Run it with::

    zenml pipeline run pipelines.deployment.deployment_pipeline -c configs/deployment.yaml
"""

from __future__ import annotations

from pipelines.checked_pipeline import checked_pipeline
from pipelines.docker_settings import DOCKER_SETTINGS
from release.blue_green import DEFAULT_TIMEOUT_S, DEFAULT_TOLERANCE, DEFAULT_WORKERS
from steps.deployment.deploy_model import deploy_model


@checked_pipeline(
    name="deployment_pipeline", enable_cache=False, settings={"docker": DOCKER_SETTINGS}
)
def deployment_pipeline(
    model_name: str,
    version: str | int | None = None,
    smoke_test_tolerance: float = DEFAULT_TOLERANCE,
    start_timeout_s: int = DEFAULT_TIMEOUT_S,
    workers: int = DEFAULT_WORKERS,
) -> None:
    """Deploy ``model_name`` (production version unless ``version`` is given).

    Args:
        model_name: The ZenML model name.
        version: A model version number (``2`` or ``"2"``); default: the production version.
        smoke_test_tolerance: Smoke-test tolerance on probabilities (absolute).
        start_timeout_s: Seconds to wait for the new model server.
        workers: Uvicorn worker processes of the new model server.
    """
    deploy_model(
        model_name=model_name,
        version=None if version is None else str(version),
        smoke_test_tolerance=smoke_test_tolerance,
        start_timeout_s=start_timeout_s,
        workers=workers,
    )
