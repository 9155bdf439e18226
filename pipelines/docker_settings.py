"""The Docker settings every pipeline runs with on a containerized orchestrator.

The image is ``docker/pipeline.Dockerfile``: the environment exactly as ``uv.lock`` pins it.
ZenML builds it from the repository root (``.dockerignore`` limits the context to the lock
files) with the stack's image builder, pushes it to the stack's container registry, and runs
the steps in it. Nothing is installed on top of it, neither the stack's integration
requirements nor a requirements file ZenML might find, so a run uses the locked versions and
nothing else. The code is not in the image: ZenML uploads each run's code to the artifact
store and the step containers download it, so only a change to the lock needs a new image.

The local orchestrator ignores Docker settings; on the ``local`` and ``server`` stacks these
settings change nothing.
"""

from __future__ import annotations

from pathlib import Path

from zenml.config import DockerSettings

REPO_ROOT = Path(__file__).resolve().parents[1]
PIPELINE_DOCKERFILE = REPO_ROOT / "docker" / "pipeline.Dockerfile"

DOCKER_SETTINGS = DockerSettings(
    dockerfile=str(PIPELINE_DOCKERFILE),
    build_context_root=str(REPO_ROOT),
    # Install nothing on top of the locked environment: ZenML would otherwise pip-install the
    # stack's integration requirements and any requirements file it detects, unpinned.
    install_stack_requirements=False,
    install_deployment_requirements=False,
    disable_automatic_requirements_detection=True,
    # The image holds the environment; the code of each run comes from the artifact store.
    allow_download_from_artifact_store=True,
    allow_download_from_code_repository=True,
    allow_including_files_in_images=False,
    target_repository="tabular-mlops-pipeline",
)
