"""End-to-end fixtures; see ``tests/e2e/workspace.py`` for the isolation they rely on."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from scripts.isolated_checkout import copy_checkout
from stacks import apply_stack
from tests.e2e.probe import EXPERIMENT, MODEL, Probe
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


@pytest.fixture(scope="session")
def probe(
    workspace: Workspace, zenml_client: Any, tmp_path_factory: pytest.TempPathFactory
) -> Probe:
    """Register the ``probe`` stack and train the probe model's first version on it.

    Shared by ``test_training_cache.py`` and ``test_training_failures.py`` (session scope: one
    stack and one first training run for both); each of their tests reads the state it starts
    from before acting.
    """
    from mlflow.tracking import MlflowClient

    root = tmp_path_factory.mktemp("probe")
    store = root / "artifacts"
    spec = {
        "name": "probe",
        "components": {
            "orchestrator": {"name": "probe_orchestrator", "flavor": "local"},
            "artifact_store": {
                "name": "probe_store",
                "flavor": "local",
                "configuration": {"path": str(store)},
            },
            "experiment_tracker": {"name": "probe_tracker", "flavor": "mlflow"},
            "model_registry": {"name": "probe_registry", "flavor": "mlflow"},
        },
    }
    stack_file = root / "probe.yaml"
    stack_file.write_text(yaml.safe_dump(spec))
    apply_stack(stack_file, activate=False)
    stack = zenml_client.get_stack("probe")
    ws = Workspace(
        root=workspace.root, env={**workspace.env, "ZENML_ACTIVE_STACK_ID": str(stack.id)}
    )
    config = workspace.write_config(
        "probe",
        {
            "parameters": {"model_name": MODEL},
            "settings": {"experiment_tracker.mlflow": {"experiment_name": EXPERIMENT}},
        },
    )
    ws.zenml_pipeline_run(config)
    uri = f"sqlite:///{store}/mlflow.db"
    # The registry URI explicitly: otherwise MLflow takes a process-wide one if any was set.
    mlflow = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return Probe(ws=ws, store=store, config=config, mlflow=mlflow)
