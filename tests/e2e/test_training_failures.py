"""What a training run leaves behind when one of its steps fails.

These tests run the real training pipeline on the probe stack and models of their own
(``tests/e2e/probe.py``), so that failing runs cannot disturb the other tests' stack.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.probe import (
    EXPERIMENT,
    MODEL,
    Probe,
    assert_every_version_complete,
    mlflow_run_of_latest_failure,
    output_blocked,
    state,
)

pytestmark = pytest.mark.e2e


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
    before = state(zenml_client, probe, failure.model)

    if failure.fault:
        output = probe.faulty_train(failure.fault, config)
    elif failure.blocked_output:
        with output_blocked(probe.store, failure.step):
            output = probe.train(config, check=False)
    else:
        output = probe.train(config, check=False)

    assert f"failure in step(s): {failure.step}" in output, output[-3000:]
    assert failure.message in output, output[-3000:]
    assert state(zenml_client, probe, failure.model) == before
    assert_every_version_complete(zenml_client, failure.model)
    if failure.parameters is not None or failure.fault == "classifier-vanishes":
        mlflow_run = mlflow_run_of_latest_failure(zenml_client, probe)
        assert mlflow_run.info.status == "FAILED"
        assert mlflow_run.data.tags["failed_step"] == failure.step
        assert failure.message in mlflow_run.data.tags["error"]
    if failure.step == "promote_model":
        # promote_model logs nothing to MLflow: the run register_model used stays as it ended.
        mlflow_run = mlflow_run_of_latest_failure(zenml_client, probe)
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
    before = state(zenml_client, probe, model)
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
    assert state(zenml_client, probe, model) == before
    assert_every_version_complete(zenml_client, model)


def test_a_version_left_when_promote_model_cannot_start_is_removed_by_the_next_run(
    probe: Probe, zenml_client: Any
) -> None:
    before = state(zenml_client, probe)
    with output_blocked(probe.store, "promote_model"):
        output = probe.train(check=False)
    assert "failure in step(s): promote_model" in output
    left = state(zenml_client, probe)
    (leftover,) = set(left.versions) - set(before.versions)
    leftover_id = zenml_client.get_model_version(MODEL, leftover).id
    assert left.production == before.production and left.champion == before.champion

    output = probe.train()

    assert f"Model version {leftover} of {MODEL} was left by failed run(s)" in output
    assert leftover_id not in {v.id for v in zenml_client.list_model_versions(model=MODEL).items}
    after = state(zenml_client, probe)
    assert len(after.versions) == len(before.versions) + 1
    assert len(after.registry_versions) == len(before.registry_versions) + 1
    assert_every_version_complete(zenml_client)


def test_a_version_left_when_registration_cannot_be_stored_is_removed_by_the_next_run(
    probe: Probe, zenml_client: Any
) -> None:
    before = state(zenml_client, probe)
    output = probe.faulty_train("registration-not-stored", probe.config)
    assert "failure in step(s): register_model" in output, output[-3000:]
    assert "the artifact store refused the write (injected fault)" in output
    left = state(zenml_client, probe)
    (leftover,) = set(left.versions) - set(before.versions)
    assert len(left.registry_versions) == len(before.registry_versions) + 1
    assert left.production == before.production and left.champion == before.champion
    version = zenml_client.get_model_version(MODEL, leftover)
    assert "registration" in version.run_metadata and "promotion" not in version.run_metadata

    output = probe.train()

    assert f"Model version {leftover} of {MODEL} was left by failed run(s)" in output
    assert version.id not in {v.id for v in zenml_client.list_model_versions(model=MODEL).items}
    after = state(zenml_client, probe)
    assert len(after.versions) == len(before.versions) + 1
    assert len(after.registry_versions) == len(before.registry_versions) + 1
    assert_every_version_complete(zenml_client)


def test_a_decision_whose_output_cannot_be_stored_stays(probe: Probe, zenml_client: Any) -> None:
    before = state(zenml_client, probe)
    output = probe.faulty_train("decision-not-stored", probe.config)
    assert "failure in step(s): promote_model" in output
    assert "the artifact store refused the write (injected fault)" in output
    after = state(zenml_client, probe)
    (kept,) = set(after.versions) - set(before.versions)
    decision = zenml_client.get_model_version(MODEL, kept).run_metadata["promotion"]
    assert after.production == (kept if decision["promote"] else before.production)
    assert_every_version_complete(zenml_client)


def test_a_damaged_production_model_is_kept_until_archived_as_the_message_says(
    probe: Probe, zenml_client: Any
) -> None:
    # Walkthrough: the message advised re-running training, which can never promote while
    # production does not load, or setting the stage by hand, which promotion's refusal forbids.
    model = "probe_damaged_production"
    settings = {"experiment_tracker.mlflow": {"experiment_name": EXPERIMENT}}
    config = probe.ws.write_config(
        "probe_damaged", {"parameters": {"model_name": model}, "settings": settings}
    )
    probe.train(config)
    assert state(zenml_client, probe, model).production == "1"
    classifier = zenml_client.get_model_version(model, "1").get_artifact("classifier")
    damaged = [p for p in Path(classifier.uri).rglob("*") if p.is_file()]
    assert damaged, classifier.uri
    for path in damaged:
        path.write_bytes(b"damaged")

    kept_out = probe.train(config)

    advice = f"zenml model version update {model} 1 --stage archived"
    assert "production version 1 cannot be loaded" in kept_out, kept_out[-3000:]
    assert advice in kept_out
    after_damage = state(zenml_client, probe, model)
    assert after_damage.production == "1" and after_damage.versions == ("1", "2")
    assert zenml_client.get_model_version(model, "2").run_metadata["promotion"]["promote"] is False

    probe.ws.run(*advice.split())
    promoted = probe.train(config)

    assert f"Promoted {model} version 3" in promoted, promoted[-3000:]
    final = state(zenml_client, probe, model)
    assert final.production == "3"
    assert final.champion == max(final.registry_versions, key=int)
    assert_every_version_complete(zenml_client, model)
