"""A throwaway copy of the checkout, for tests and benchmarks that run the real commands.

ZenML keeps a repository's active stack in ``.zen/config.yaml``. Running pipelines with another
``ZENML_CONFIG_PATH`` in the checkout itself rewrites that file under anyone else working there
(and their commands rewrite it under the run). So the end-to-end tests and the benchmarks work
in a copy: no ``.zen``, no data, no DVC remote or caches, like a fresh clone, with the project's
``.venv`` linked in.
"""

from __future__ import annotations

import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

# The Python side of scripts/env.sh (a unit test keeps the two in step).
OFFLINE_ENV = {
    "ZENML_ANALYTICS_OPT_IN": "false",
    "ZENML_ENABLE_REPO_INIT_WARNINGS": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "DVC_NO_ANALYTICS": "1",
    "HF_HUB_OFFLINE": "1",
    "GIT_PYTHON_REFRESH": "quiet",
}

_IGNORED = shutil.ignore_patterns(
    ".venv",
    ".zen",
    ".dvc_remote",
    "cache",
    "tmp",
    "__pycache__",
    ".*_cache",
    "mlruns",
    "mlflow.db",
    "breast_cancer.csv",
    "e2e-*",
    "test-artifacts",
)


def copy_checkout(destination: Path) -> Path:
    """Copy the working tree to ``destination`` (which must not exist) and link ``.venv``.

    Args:
        destination: The new folder.

    Returns:
        ``destination``. ``data/breast_cancer.csv`` is left out on purpose: run
        ``python -m scripts.materialize_data`` there (the quickstart does).
    """
    shutil.copytree(REPO_ROOT, destination, ignore=_IGNORED, symlinks=True)
    (destination / ".venv").symlink_to(REPO_ROOT / ".venv")
    return destination
