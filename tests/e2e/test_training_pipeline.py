"""The real training pipeline, on the real dataset, on the embedded local stack."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.e2e.workspace import Workspace

pytestmark = pytest.mark.e2e

MODEL_NAME = "breast_cancer_classifier"
EXPERIMENT = "breast-cancer-classifier-training"
TEST_METRICS = ("test_accuracy", "test_roc_auc", "test_precision", "test_recall", "test_f1_score")


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _quickstart_run(zenml_client: Any) -> Any:
    """The first training run of the session: the README's first command."""
    runs = zenml_client.list_pipeline_runs(
        pipeline_name="training_pipeline", sort_by="asc:created", size=1
    )
    return runs.items[0]


def _quickstart_version(zenml_client: Any) -> Any:
    return zenml_client.get_model_version(MODEL_NAME, "1")


def _latest_run(zenml_client: Any, status: str | None = None) -> Any:
    runs = zenml_client.list_pipeline_runs(
        pipeline_name="training_pipeline",
        sort_by="desc:created",
        size=1,
        **({"status": status} if status else {}),
    )
    assert runs.items, "no training_pipeline run found"
    return runs.items[0]


def _mlflow_run_for(mlflow_client: Any, zenml_run: Any) -> Any:
    exp = mlflow_client.get_experiment_by_name(EXPERIMENT)
    assert exp is not None, f"MLflow experiment {EXPERIMENT!r} missing"
    found = mlflow_client.search_runs(
        [exp.experiment_id], filter_string=f"tags.mlflow.runName = '{zenml_run.name}'"
    )
    assert len(found) == 1, f"expected one MLflow run named {zenml_run.name}, got {len(found)}"
    return found[0]


def test_quickstart_trains_and_registers(
    quickstart: subprocess.CompletedProcess[str], zenml_client: Any, mlflow_client: Any
) -> None:
    run = _quickstart_run(zenml_client)
    assert str(run.status) in ("completed", "ExecutionStatus.COMPLETED")
    mlrun = _mlflow_run_for(mlflow_client, run)
    assert mlrun.info.status == "FINISHED"

    metrics = mlrun.data.metrics
    for name in TEST_METRICS:
        assert 0.0 <= metrics[name] <= 1.0, name
    assert metrics["test_roc_auc"] > 0.95
    history = mlflow_client.get_metric_history(mlrun.info.run_id, "train_loss")
    assert len(history) >= 5
    assert [m.step for m in history] == list(range(1, len(history) + 1))
    assert history[-1].value < history[0].value, "training loss did not decrease"
    assert len(mlflow_client.get_metric_history(mlrun.info.run_id, "train_accuracy")) == len(
        history
    )

    params = mlrun.data.params
    assert params["batch_size"] == "32"
    assert params["learning_rate"] == "0.001"
    assert params["hidden_sizes"] == "64,32"

    tags = mlrun.data.tags
    assert tags["data.md5"] == "5afc23b9622f8f9ffa60824f4e97d0d5"
    assert tags["data.path"] == "data/breast_cancer.csv"
    assert len(tags["git_commit"]) in (40, len("unknown"))
    assert tags["model_config.name"] == "production"
    assert len(tags["model_config.sha256"]) == 64
    assert tags["zenml.run_id"] == str(run.id)

    artifacts = {a.path for a in mlflow_client.list_artifacts(mlrun.info.run_id, "evaluation")}
    for name in (
        "confusion_matrix.png",
        "roc_curve.png",
        "precision_recall_curve.png",
        "classification_report.txt",
        "classification_report.json",
    ):
        assert f"evaluation/{name}" in artifacts

    registered = mlflow_client.search_model_versions(f"name = '{MODEL_NAME}'")
    assert registered, "no MLflow registered model version"
    assert any(v.run_id == mlrun.info.run_id for v in registered)


def test_model_version_has_metadata_and_artifacts(zenml_client: Any) -> None:
    mv = _quickstart_version(zenml_client)
    metadata = mv.run_metadata
    assert metadata["test_roc_auc"] > 0.95
    assert metadata["model_config_name"] == "production"
    assert metadata["data_version"]["md5"] == "5afc23b9622f8f9ffa60824f4e97d0d5"
    linked = {
        a.name for a in zenml_client.list_artifact_versions(model_version_id=mv.id, size=50).items
    }
    for name in ("classifier", "evaluation_report", "reference_data"):
        assert name in linked, f"{name} not linked to the model version (linked: {sorted(linked)})"
    classifier = zenml_client.get_artifact_version(mv.get_artifact("classifier").id)
    assert [str(v.type) for v in classifier.visualizations] == ["markdown"]
    assert classifier.run_metadata["n_parameters"] > 1000
    report = zenml_client.get_artifact_version(mv.get_artifact("evaluation_report").id)
    # confusion matrix, ROC, precision-recall and reliability diagram, and the Markdown report
    assert sorted(str(v.type) for v in report.visualizations) == ["image"] * 4 + ["markdown"]
    assert "# Model card: production" in Path(classifier.visualizations[0].uri).read_text()


def test_reloaded_artifact_reproduces_predictions(zenml_client: Any) -> None:
    from tabular_classifier.predictor import Predictor

    mv = zenml_client.get_model_version(
        MODEL_NAME,
        zenml_client.list_model_versions(MODEL_NAME, sort_by="desc:number").items[0].number,
    )
    bundle = mv.get_artifact("classifier").load()
    report = mv.get_artifact("evaluation_report").load()
    proba = Predictor(bundle).predict_proba(report.smoke_frame())
    np.testing.assert_array_equal(proba, np.asarray(report.smoke_probabilities))

    reference = mv.get_artifact("reference_data").load()
    assert isinstance(reference, pd.DataFrame)
    assert {"prediction_probability", "prediction_label"} <= set(reference.columns)


def test_registered_mlflow_model_serves_same_predictions(
    zenml_client: Any, mlflow_client: Any
) -> None:
    import mlflow.pyfunc

    mv = zenml_client.get_model_version(
        MODEL_NAME,
        zenml_client.list_model_versions(MODEL_NAME, sort_by="desc:number").items[0].number,
    )
    registration = mv.run_metadata["registration"]
    report = mv.get_artifact("evaluation_report").load()
    mlflow.set_tracking_uri(mlflow_client.tracking_uri)
    model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/{registration['registered_version']}")
    out = model.predict(report.smoke_frame())
    assert list(out.columns) == ["probability", "label", "model_version", "unknown_categories"]
    assert (out["unknown_categories"] == 0).all()  # the quickstart data has no categories
    np.testing.assert_allclose(
        out["probability"].to_numpy(), report.smoke_probabilities, rtol=0, atol=1e-12
    )
    assert set(out["model_version"]) == {registration["zenml_model_version"]}


def test_second_quickstart_just_works(
    workspace: Workspace,
    quickstart: subprocess.CompletedProcess[str],
    zenml_client: Any,
    mlflow_client: Any,
) -> None:
    before = zenml_client.list_model_versions(MODEL_NAME).total
    registered_before = len(mlflow_client.search_model_versions(f"name = '{MODEL_NAME}'"))
    result = workspace.run("bash", "scripts/quickstart.sh")
    assert "Using cached version of step train_model" in _plain(result.stdout + result.stderr)
    assert zenml_client.list_model_versions(MODEL_NAME).total == before + 1
    assert (
        len(mlflow_client.search_model_versions(f"name = '{MODEL_NAME}'")) == registered_before + 1
    )
    newest = zenml_client.list_model_versions(MODEL_NAME, sort_by="desc:number").items[0]
    metadata = zenml_client.get_model_version(MODEL_NAME, newest.number).run_metadata
    assert metadata["registration"]["zenml_model_version"] == str(newest.number)
    assert metadata["test_roc_auc"] > 0.95


def _trained_runs(mlflow_client: Any) -> list[Any]:
    """MLflow runs in which training really ran (not served from ZenML's cache), oldest first."""
    exp = mlflow_client.get_experiment_by_name(EXPERIMENT)
    runs = mlflow_client.search_runs(
        [exp.experiment_id], filter_string="params.batch_size = '32'", order_by=["start_time ASC"]
    )
    return [r for r in runs if r.info.status == "FINISHED"]


def test_same_config_and_data_give_identical_metrics(
    workspace: Workspace,
    quickstart: subprocess.CompletedProcess[str],
    zenml_client: Any,
    mlflow_client: Any,
) -> None:
    config = workspace.write_config("training_nocache", {"enable_cache": False})
    before = _trained_runs(mlflow_client)
    workspace.zenml_pipeline_run(config)
    after = _trained_runs(mlflow_client)
    assert len(after) == len(before) + 1, "the no-cache run did not train"
    first, second = after[0], after[-1]
    for name in TEST_METRICS:
        assert first.data.metrics[name] == second.data.metrics[name], name
    for name in ("train_loss", "val_loss"):
        h1 = [m.value for m in mlflow_client.get_metric_history(first.info.run_id, name)]
        h2 = [m.value for m in mlflow_client.get_metric_history(second.info.run_id, name)]
        assert h1 == h2, name


@pytest.mark.parametrize(
    ("csv_text", "data_overrides", "expected"),
    [
        (
            "a,b,label\n1,2,x\n3,4,y\n",
            {"target": "outcome", "positive_label": "x"},
            "column 'outcome'",
        ),
        (
            "age,income,label\n"
            + "\n".join(
                f"{i},{'abc' if i == 7 else i * 10},{'Yes' if i % 2 else 'No'}" for i in range(60)
            ),
            {"target": "label", "positive_label": "Yes", "numeric_features": ["age", "income"]},
            "column 'income'",
        ),
    ],
    ids=["missing-target", "non-numeric-value"],
)
def test_invalid_data_fails_and_registers_nothing(
    workspace: Workspace,
    quickstart: subprocess.CompletedProcess[str],
    zenml_client: Any,
    mlflow_client: Any,
    csv_text: str,
    data_overrides: dict[str, Any],
    expected: str,
) -> None:
    data_file = workspace.root / "data" / f"bad_{len(csv_text)}.csv"
    data_file.write_text(csv_text)
    rel = str(data_file.relative_to(workspace.root))
    config = workspace.write_config(
        f"bad_{len(csv_text)}",
        {"parameters": {"data": {"path": rel, **data_overrides}}},
    )
    before = zenml_client.list_model_versions(MODEL_NAME).total
    registered_before = len(mlflow_client.search_model_versions(f"name = '{MODEL_NAME}'"))
    result = workspace.zenml_pipeline_run(config, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert rel in output and expected in output, output[-3000:]
    assert zenml_client.list_model_versions(MODEL_NAME).total == before
    assert len(mlflow_client.search_model_versions(f"name = '{MODEL_NAME}'")) == registered_before
    failed = _mlflow_run_for(mlflow_client, _latest_run(zenml_client, "failed"))
    assert failed.info.status == "FAILED"
    assert expected in failed.data.tags["error"]
    assert json.dumps(failed.data.tags["failed_step"]) == '"validate_data"'


def test_promotion_compares_on_rows_production_never_saw(
    workspace: Workspace, quickstart: subprocess.CompletedProcess[str], zenml_client: Any
) -> None:
    """Issue 12, case 1: v2 re-salts the split and adds rows; the comparison rows hold none of
    v1's training or validation rows (checked by row content), and their fingerprint is the
    one recorded in v2's promotion decision."""
    import hashlib

    from tabular_classifier.config import SplitConfig
    from tabular_classifier.data import SPLIT_CODES, FeatureSchema, assign_splits, row_key_hashes

    name = "split_probe"
    source = pd.read_csv(workspace.root / "data" / "breast_cancer.csv")
    v1_data = workspace.root / "data" / "split_probe_v1.csv"
    source.to_csv(v1_data, index=False)
    grown = pd.concat([source, source.sample(200, random_state=0).mul(1.01).round(6)])
    grown["target"] = grown["target"].round().astype(int)
    v2_data = workspace.root / "data" / "split_probe_v2.csv"
    grown.to_csv(v2_data, index=False)
    promotion = {"min_accuracy": 0.5, "min_roc_auc": 0.5, "min_comparison_rows": 10}
    runs = []
    for version, (path, salt) in enumerate(((v1_data, 42), (v2_data, 7)), start=1):
        config = workspace.write_config(
            f"split_probe_v{version}",
            {
                "parameters": {
                    "model_name": name,
                    "data": {"path": str(path), "target": "target", "positive_label": 1},
                    "split": {"test_size": 0.2, "val_size": 0.2, "random_state": salt},
                    "promotion": promotion,
                }
            },
        )
        workspace.zenml_pipeline_run(config)
        runs.append(_latest_run(zenml_client, status="completed"))

    schema = runs[1].steps["validate_data"].outputs["feature_schema"][0].load()
    assert isinstance(schema, FeatureSchema) and schema.target == "target"

    def split(run: Any, which: str) -> pd.DataFrame:
        """A split's rows, taken from the run's one stored table by its split codes."""
        table = run.steps["ingest_data"].outputs["raw_data"][0].load()
        data_split = run.steps["split_data"].outputs["data_split"][0].load()
        frame: pd.DataFrame = data_split.take(table, which, schema)
        return frame

    assert set(runs[0].steps["split_data"].outputs) == {"data_split"}
    v1_seen = pd.concat([split(runs[0], "train"), split(runs[0], "val")])
    v2_test = split(runs[1], "test")
    v1_codes = assign_splits(v2_test, schema, SplitConfig(random_state=42))
    comparison = v2_test[v1_codes == SPLIT_CODES["test"]]
    columns = [*schema.feature_columns, schema.target]
    seen_keys = set(map(tuple, v1_seen[columns].to_numpy()))
    assert comparison.shape[0] >= 10
    assert not any(tuple(row) in seen_keys for row in comparison[columns].to_numpy())

    decision = zenml_client.get_model_version(name, "2").run_metadata["promotion"]
    assert decision["comparison"]["rows"] == comparison.shape[0]
    fingerprint = hashlib.sha256(
        np.sort(row_key_hashes(comparison, columns)).astype("<u8").tobytes()
    ).hexdigest()
    assert decision["comparison"]["fingerprint"] == fingerprint
    assert decision["comparison"]["production_split"]["random_state"] == 42
    assert decision["production_version"] == "1"
