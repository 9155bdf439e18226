"""The probe stack of the training-state tests, and what they read back from it.

``tests/e2e/test_training_cache.py`` and ``tests/e2e/test_training_failures.py`` run the real
training pipeline through ``zenml pipeline run`` on a stack of their own (``probe``: its own
local artifact store, MLflow database and registry; the ``probe`` fixture in
``tests/e2e/conftest.py``) and a model of their own, so that deleting artifacts and failing runs
cannot disturb the other tests' stack.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.workspace import Workspace

MODEL = "probe_classifier"
EXPERIMENT = "probe-training"


def plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@dataclass
class Probe:
    """The probe stack, a workspace whose commands run on it, and its stores."""

    ws: Workspace
    store: Path
    config: Path
    mlflow: Any

    def train(self, config: Path | None = None, check: bool = True) -> str:
        """The README's training command on this stack; returns its output without colours."""
        result = self.ws.zenml_pipeline_run(config or self.config, check=check)
        output = plain(result.stdout + result.stderr)
        if not check:
            assert result.returncode != 0, f"the run was expected to fail:\n{output[-4000:]}"
        return output

    def faulty_train(self, fault: str, config: Path) -> str:
        """Run the pipeline with a fault from ``tests/e2e/faults.py``; it must fail."""
        result = self.ws.run("python", "-m", "tests.e2e.faults", fault, str(config), check=False)
        output = plain(result.stdout + result.stderr)
        assert result.returncode != 0, f"the run was expected to fail:\n{output[-4000:]}"
        return output


@dataclass(frozen=True)
class State:
    """The model's versions in ZenML and in the MLflow registry, and where production is."""

    versions: tuple[str, ...]
    registry_versions: tuple[str, ...]
    production: str | None
    champion: str | None


def state(zenml_client: Any, probe: Probe, model: str = MODEL) -> State:
    from mlflow.exceptions import MlflowException

    versions = zenml_client.list_model_versions(model=model, size=100).items
    production = [str(v.number) for v in versions if v.stage == "production"]
    registered = probe.mlflow.search_model_versions(f"name = '{model}'")
    try:
        aliases = probe.mlflow.get_registered_model(model).aliases
    except MlflowException:
        aliases = {}
    return State(
        versions=tuple(sorted(str(v.number) for v in versions)),
        registry_versions=tuple(sorted(str(v.version) for v in registered)),
        production=production[0] if production else None,
        champion=None if "champion" not in aliases else str(aliases["champion"]),
    )


def assert_every_version_complete(zenml_client: Any, model: str = MODEL) -> None:
    for version in zenml_client.list_model_versions(model=model, size=100, hydrate=True).items:
        metadata = version.run_metadata
        assert "registration" in metadata, f"version {version.number} is empty"
        assert "promotion" in metadata, f"version {version.number} never got through promotion"
        linked = {a.name for a in zenml_client.list_artifact_versions(model_version_id=version.id)}
        assert {"classifier", "evaluation_report", "reference_data"} <= linked


def newest_entry(zenml_client: Any, step: str) -> Any:
    return zenml_client.list_run_steps(
        name=step, status="completed", sort_by="desc:created", size=1, hydrate=True
    ).items[0]


def mlflow_run_of_latest_failure(zenml_client: Any, probe: Probe) -> Any:
    run = zenml_client.list_pipeline_runs(
        pipeline_name="training_pipeline", status="failed", sort_by="desc:created", size=1
    ).items[0]
    experiment = probe.mlflow.get_experiment_by_name(EXPERIMENT)
    found = probe.mlflow.search_runs(
        [experiment.experiment_id], filter_string=f"tags.mlflow.runName = '{run.name}'"
    )
    assert len(found) == 1, f"no MLflow run for {run.name}"
    return found[0]


@contextmanager
def output_blocked(store: Path, step: str) -> Iterator[None]:
    """A file where ``step`` writes its outputs: the artifact store refuses them."""
    folder = store / step
    aside = store / f"{step}.aside"
    if folder.exists():
        folder.rename(aside)
    folder.write_text("not a folder\n")
    try:
        yield
    finally:
        folder.unlink()
        if aside.exists():
            aside.rename(folder)
