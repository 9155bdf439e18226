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

Where the official base images cannot be pulled (our machines: ``scripts/docker.sh``), the
build takes them from the environment when the pipeline is compiled:
``TABULAR_PYTHON_IMAGE`` and ``TABULAR_UV_IMAGE`` become the Dockerfile's ``PYTHON_IMAGE`` and
``UV_IMAGE`` build arguments, and ``TABULAR_BUILD_CA_BUNDLE`` (a file) the build secret
``ca_bundle``. A secret needs the image builder's ``use_subprocess_call: true`` (the Docker
CLI with BuildKit, as ``stacks/docker.yaml`` sets it). Unset, the build uses the defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from zenml.config import DockerSettings
from zenml.config.docker_settings import DockerBuildConfig, DockerBuildOptions

REPO_ROOT = Path(__file__).resolve().parents[1]
PIPELINE_DOCKERFILE = REPO_ROOT / "docker" / "pipeline.Dockerfile"

BASE_IMAGE_ENV = {"TABULAR_PYTHON_IMAGE": "PYTHON_IMAGE", "TABULAR_UV_IMAGE": "UV_IMAGE"}
CA_BUNDLE_ENV = "TABULAR_BUILD_CA_BUNDLE"


def build_options_from_env(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The Docker build options the environment asks for (see the module docstring).

    Args:
        environ: The environment to read; ``os.environ`` by default.

    Returns:
        ``{"build_args": {...}, "secret": "id=ca_bundle,src=FILE"}``, each key present only
        when its variables are set; ``{}`` when none is.

    Raises:
        FileNotFoundError: If ``TABULAR_BUILD_CA_BUNDLE`` names no file.
    """
    env = os.environ if environ is None else environ
    options: dict[str, Any] = {}
    build_args = {arg: env[name] for name, arg in BASE_IMAGE_ENV.items() if env.get(name)}
    if build_args:
        options["build_args"] = build_args
    ca_bundle = env.get(CA_BUNDLE_ENV)
    if ca_bundle:
        if not Path(ca_bundle).is_file():
            raise FileNotFoundError(f"{CA_BUNDLE_ENV}={ca_bundle} is not a file")
        options["secret"] = f"id=ca_bundle,src={ca_bundle}"
    return options


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
    # How the image is built from `dockerfile`: the environment's base images and CA secret.
    parent_image_build_config=DockerBuildConfig(
        build_options=DockerBuildOptions(**build_options_from_env())
    ),
)
