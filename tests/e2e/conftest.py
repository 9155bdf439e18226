"""End-to-end fixtures; see ``tests/e2e/workspace.py`` for the isolation they rely on."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from scripts.isolated_checkout import copy_checkout
from tests.e2e.workspace import _SESSION_DIR, WORKTREE, Workspace


@pytest.fixture(scope="session")
def workspace() -> Iterator[Workspace]:
    """A fresh copy of the repository with the project's venv linked in."""
    copy_checkout(WORKTREE)
    env = dict(os.environ)
    env["PATH"] = f"{WORKTREE / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
    env.pop("ZENML_REPOSITORY_PATH", None)
    env.pop("VIRTUAL_ENV", None)
    yield Workspace(root=WORKTREE, env=env)
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def quickstart(workspace: Workspace) -> subprocess.CompletedProcess[str]:
    """Run the README's first command in the fresh copy."""
    return workspace.run("bash", "scripts/quickstart.sh")


@pytest.fixture(scope="session")
def zenml_client(quickstart: subprocess.CompletedProcess[str]) -> Any:
    """A ZenML client on the isolated store, after the quickstart ran."""
    from zenml.client import Client

    return Client()


@pytest.fixture(scope="session")
def mlflow_client(zenml_client: Any) -> Any:
    """An MLflow client on the local stack's tracking database."""
    from mlflow.tracking import MlflowClient

    tracker = zenml_client.active_stack.experiment_tracker
    uri = tracker.get_tracking_uri()
    return MlflowClient(tracking_uri=uri, registry_uri=uri)
