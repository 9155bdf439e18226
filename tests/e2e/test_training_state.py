"""What a training run leaves behind when its artifacts break or one of its steps fails.

These tests run the real training pipeline through ``zenml pipeline run`` on a stack of their
own (``probe``: its own local artifact store, MLflow database and registry) and a model of
their own, so that deleting artifacts and failing runs cannot disturb the other tests' stack.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks import apply_stack
from tests.e2e.workspace import Workspace

pytestmark = pytest.mark.e2e

MODEL = "probe_classifier"
EXPERIMENT = "probe-training"
CACHED_STEPS = ("ingest_data", "validate_data", "split_data", "train_model", "evaluate_model")


def _plain(text: str) -> str:
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
        output = _plain(result.stdout + result.stderr)
        if not check:
            assert result.returncode != 0, f"the run was expected to fail:\n{output[-4000:]}"
        return output

    def faulty_train(self, fault: str, config: Path) -> str:
        """Run the pipeline with a fault from ``tests/e2e/faults.py``; it must fail."""
        result = self.ws.run("python", "-m", "tests.e2e.faults", fault, str(config), check=False)
        output = _plain(result.stdout + result.stderr)
        assert result.returncode != 0, f"the run was expected to fail:\n{output[-4000:]}"
        return output


@pytest.fixture(scope="module")
def probe(
    workspace: Workspace, zenml_client: Any, tmp_path_factory: pytest.TempPathFactory
) -> Probe:
    """Register the ``probe`` stack and train the probe model's first version on it."""
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


@dataclass(frozen=True)
class State:
    """The model's versions in ZenML and in the MLflow registry, and where production is."""

    versions: tuple[str, ...]
    registry_versions: tuple[str, ...]
    production: str | None
    champion: str | None


def _state(zenml_client: Any, probe: Probe, model: str = MODEL) -> State:
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


def _assert_every_version_complete(zenml_client: Any, model: str = MODEL) -> None:
    for version in zenml_client.list_model_versions(model=model, size=100, hydrate=True).items:
        metadata = version.run_metadata
        assert "registration" in metadata, f"version {version.number} is empty"
        assert "promotion" in metadata, f"version {version.number} never got through promotion"
        linked = {a.name for a in zenml_client.list_artifact_versions(model_version_id=version.id)}
        assert {"classifier", "evaluation_report", "reference_data"} <= linked


def _newest_entry(zenml_client: Any, step: str) -> Any:
    return zenml_client.list_run_steps(
        name=step, status="completed", sort_by="desc:created", size=1, hydrate=True
    ).items[0]


def _mlflow_run_of_latest_failure(zenml_client: Any, probe: Probe) -> Any:
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
def _output_blocked(store: Path, step: str) -> Iterator[None]:
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


def test_deleted_artifacts_are_not_reused_and_the_same_command_succeeds(
    probe: Probe, zenml_client: Any
) -> None:
    before = _state(zenml_client, probe)
    for step in CACHED_STEPS:
        shutil.rmtree(probe.store / step)

    output = probe.train()

    for step in CACHED_STEPS:
        assert re.search(
            rf"Cache entry of step {step} \(from run \S+\) is not reused: artifact "
            r"\S+: \S+ is missing\. The step will run again\.",
            output,
        ), step
        assert f"Using cached version of step {step}" not in output
    for step in CACHED_STEPS:
        assert _newest_entry(zenml_client, step).status == "completed"
    after = _state(zenml_client, probe)
    assert len(after.versions) == len(before.versions) + 1
    assert len(after.registry_versions) == len(before.registry_versions) + 1
    _assert_every_version_complete(zenml_client)


def test_a_changed_artifact_file_is_not_reused(probe: Probe, zenml_client: Any) -> None:
    # The first check of an entry records its files' checksums; make sure it has happened.
    for _ in range(2):
        output = probe.train()
        split = _newest_entry(zenml_client, "split_data").outputs["data_split"][0]
        recorded = zenml_client.get_artifact_version(split.id).run_metadata.get("integrity")
        if recorded:
            break
    assert recorded, "no checksums recorded for data_split"
    assert "Using cached version of step split_data" in output
    relative, expected = next(iter(recorded["files"].items()))
    data_file = Path(split.uri) / relative
    assert data_file.stat().st_size == expected["size"]
    data = bytearray(data_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    data_file.write_bytes(bytes(data))

    output = probe.train()

    assert re.search(
        r"Cache entry of step split_data \(from run \S+\) is not reused: artifact data_split: "
        rf"\S+/{re.escape(relative)} has changed: {expected['size']} bytes, SHA-256 ",
        output,
    ), output[-3000:]
    assert "Using cached version of step split_data" not in output
    assert "Using cached version of step ingest_data" in output
    _assert_every_version_complete(zenml_client)


def _write_data(probe: Probe, name: str, text: str) -> str:
    path = probe.ws.root / "data" / name
    path.write_text(text)
    return f"data/{name}"


def _tampered_tracked_file(probe: Probe) -> dict[str, Any]:
    source = probe.ws.root / "data" / "breast_cancer.csv"
    path = _write_data(probe, "probe_tampered.csv", source.read_text().replace(",", ";", 1))
    shutil.copy(source.with_name("breast_cancer.csv.dvc"), probe.ws.root / f"{path}.dvc")
    return {"data": {"path": path, "target": "target", "positive_label": 1}}


def _rare_positive_class(probe: Probe) -> dict[str, Any]:
    rows = "\n".join(f"{i},{i * 2.5},{'Yes' if i < 3 else 'No'}" for i in range(60))
    path = _write_data(probe, "probe_rare.csv", f"age,income,label\n{rows}\n")
    return {"data": {"path": path, "target": "label", "positive_label": "Yes"}}


def _missing_target_column(probe: Probe) -> dict[str, Any]:
    return {
        "data": {"path": "data/breast_cancer.csv", "target": "no_such_column", "positive_label": 1}
    }


def _other_data_contract(probe: Probe) -> dict[str, Any]:
    return {
        "data": {
            "path": "data/breast_cancer.csv",
            "target": "target",
            "positive_label": 1,
            "drop_columns": ["mean radius"],
        }
    }


@dataclass(frozen=True)
class Failure:
    """One way for a step to fail, and what the run must say."""

    step: str
    message: str
    parameters: Callable[[Probe], dict[str, Any]] | None = None
    blocked_output: bool = False
    fault: str | None = None
    model: str = MODEL


FAILURES = {
    "ingest_data-data-differs-from-dvc-pointer": Failure(
        "ingest_data", "does not match", parameters=_tampered_tracked_file
    ),
    "validate_data-target-column-missing": Failure(
        "validate_data",
        "column 'no_such_column': target column not found",
        parameters=_missing_target_column,
    ),
    "split_data-too-few-rows-of-a-class": Failure(
        "split_data", "fewer rows than the split needs", parameters=_rare_positive_class
    ),
    "train_model-output-refused": Failure("train_model", "train_model", blocked_output=True),
    "evaluate_model-output-refused": Failure(
        "evaluate_model", "evaluate_model", blocked_output=True
    ),
    "register_model-other-data-contract": Failure(
        "register_model", "different data contract", parameters=_other_data_contract
    ),
    "register_model-output-folder-refused": Failure(
        "register_model", "register_model", blocked_output=True
    ),
    "register_model-input-deleted-mid-run": Failure(
        "register_model", "input `classifier`", fault="classifier-vanishes"
    ),
    # A model of its own: with no production version yet, the candidate is promoted.
    "promote_model-registry-unreachable": Failure(
        "promote_model",
        "MLflow registry unreachable (injected fault)",
        fault="registry-unreachable",
        model="probe_first_classifier",
    ),
}


@pytest.mark.parametrize("case", list(FAILURES), ids=list(FAILURES))
def test_a_failing_step_leaves_no_model_version(probe: Probe, zenml_client: Any, case: str) -> None:
    failure = FAILURES[case]
    overrides: dict[str, Any] = {
        "enable_cache": False,
        "parameters": {
            "model_name": failure.model,
            **(failure.parameters(probe) if failure.parameters else {}),
        },
        "settings": {"experiment_tracker.mlflow": {"experiment_name": EXPERIMENT}},
    }
    config = probe.ws.write_config(f"probe_{failure.step}", overrides)
    before = _state(zenml_client, probe, failure.model)

    if failure.fault:
        output = probe.faulty_train(failure.fault, config)
    elif failure.blocked_output:
        with _output_blocked(probe.store, failure.step):
            output = probe.train(config, check=False)
    else:
        output = probe.train(config, check=False)

    assert f"failure in step(s): {failure.step}" in output, output[-3000:]
    assert failure.message in output, output[-3000:]
    assert _state(zenml_client, probe, failure.model) == before
    _assert_every_version_complete(zenml_client, failure.model)
    if failure.parameters is not None or failure.fault == "classifier-vanishes":
        mlflow_run = _mlflow_run_of_latest_failure(zenml_client, probe)
        assert mlflow_run.info.status == "FAILED"
        assert mlflow_run.data.tags["failed_step"] == failure.step
        assert failure.message in mlflow_run.data.tags["error"]
    if failure.step == "promote_model":
        # promote_model logs nothing to MLflow: the run register_model used stays as it ended.
        mlflow_run = _mlflow_run_of_latest_failure(zenml_client, probe)
        assert mlflow_run.info.status == "FINISHED"
        assert "failed_step" not in mlflow_run.data.tags


def test_promote_model_failing_as_production_moves_keeps_the_old_version_in_production(
    probe: Probe, zenml_client: Any
) -> None:
    model = "probe_weak_production"
    weak = {
        "name": "probe-weak",
        # Untrained (1e-5, one epoch), but 8 units: one ReLU unit was dead for most rows, so the
        # probabilities were nearly constant and every threshold put the test rows on one side.
        "hidden_sizes": [8],
        "dropout": 0.0,
        "learning_rate": 1e-5,
        "batch_size": 512,
        "epochs": 1,
        "early_stopping_patience": 0,
        "seed": 0,
        # Weak, but not degenerate (promotion refuses a model that predicts one class for 99 %
        # of the rows): a threshold that keeps half of the positives' scores above it predicts
        # both classes.
        "decision_threshold": {"rule": "min_recall", "value": 0.5},
    }
    weak_file = probe.ws.root / "configs" / "models-configs" / "probe_weak.yaml"
    weak_file.write_text(yaml.safe_dump(weak))
    settings = {"experiment_tracker.mlflow": {"experiment_name": EXPERIMENT}}
    floors_off = {"metric": "test_roc_auc", "min_accuracy": 0.0, "min_roc_auc": 0.0}
    first = probe.ws.write_config(
        "probe_weak",
        {
            "parameters": {
                "model_name": model,
                "model_config_path": str(weak_file.relative_to(probe.ws.root)),
                "promotion": floors_off,
            },
            "settings": settings,
        },
    )
    trained = probe.train(first)
    before = _state(zenml_client, probe, model)
    assert before.versions == ("1",) and before.production == "1", trained[-3000:]
    assert before.champion == before.registry_versions[0]
    weak_auc = zenml_client.get_model_version(model, "1").run_metadata["test_roc_auc"]
    # The premise: the default configuration beats this one, so the candidate is promoted.
    assert weak_auc < 0.95, f"the weak model scored test_roc_auc {weak_auc}"
    candidate = probe.ws.write_config(
        "probe_weak_candidate", {"parameters": {"model_name": model}, "settings": settings}
    )

    output = probe.faulty_train("registry-unreachable", candidate)

    assert "failure in step(s): promote_model" in output, output[-3000:]
    assert "MLflow registry unreachable (injected fault)" in output
    assert f"Removed model version 2 of {model}" in output, output[-3000:]
    assert _state(zenml_client, probe, model) == before
    _assert_every_version_complete(zenml_client, model)


def test_a_version_left_when_promote_model_cannot_start_is_removed_by_the_next_run(
    probe: Probe, zenml_client: Any
) -> None:
    before = _state(zenml_client, probe)
    with _output_blocked(probe.store, "promote_model"):
        output = probe.train(check=False)
    assert "failure in step(s): promote_model" in output
    left = _state(zenml_client, probe)
    (leftover,) = set(left.versions) - set(before.versions)
    leftover_id = zenml_client.get_model_version(MODEL, leftover).id
    assert left.production == before.production and left.champion == before.champion

    output = probe.train()

    assert f"Model version {leftover} of {MODEL} was left by failed run(s)" in output
    assert leftover_id not in {v.id for v in zenml_client.list_model_versions(model=MODEL).items}
    after = _state(zenml_client, probe)
    assert len(after.versions) == len(before.versions) + 1
    assert len(after.registry_versions) == len(before.registry_versions) + 1
    _assert_every_version_complete(zenml_client)


def test_a_version_left_when_registration_cannot_be_stored_is_removed_by_the_next_run(
    probe: Probe, zenml_client: Any
) -> None:
    before = _state(zenml_client, probe)
    output = probe.faulty_train("registration-not-stored", probe.config)
    assert "failure in step(s): register_model" in output, output[-3000:]
    assert "the artifact store refused the write (injected fault)" in output
    left = _state(zenml_client, probe)
    (leftover,) = set(left.versions) - set(before.versions)
    assert len(left.registry_versions) == len(before.registry_versions) + 1
    assert left.production == before.production and left.champion == before.champion
    version = zenml_client.get_model_version(MODEL, leftover)
    assert "registration" in version.run_metadata and "promotion" not in version.run_metadata

    output = probe.train()

    assert f"Model version {leftover} of {MODEL} was left by failed run(s)" in output
    assert version.id not in {v.id for v in zenml_client.list_model_versions(model=MODEL).items}
    after = _state(zenml_client, probe)
    assert len(after.versions) == len(before.versions) + 1
    assert len(after.registry_versions) == len(before.registry_versions) + 1
    _assert_every_version_complete(zenml_client)


def test_a_decision_whose_output_cannot_be_stored_stays(probe: Probe, zenml_client: Any) -> None:
    before = _state(zenml_client, probe)
    output = probe.faulty_train("decision-not-stored", probe.config)
    assert "failure in step(s): promote_model" in output
    assert "the artifact store refused the write (injected fault)" in output
    after = _state(zenml_client, probe)
    (kept,) = set(after.versions) - set(before.versions)
    decision = zenml_client.get_model_version(MODEL, kept).run_metadata["promotion"]
    assert after.production == (kept if decision["promote"] else before.production)
    _assert_every_version_complete(zenml_client)
