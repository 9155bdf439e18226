"""The training pipeline, unchanged, on the server-backed stack; then back to the local stack.

What each check reads is the servers' own record: the ZenML server's MariaDB tables and REST
API, the MLflow tracking server's API, and the objects in the S3 bucket.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.quickstart_run import EXPERIMENT, MODEL_NAME, TRAINING_STEPS
from tests.server.conftest import ServerWorkspace, messages, s3_keys

pytestmark = pytest.mark.server


def _hex(run_id: str) -> str:
    return run_id.replace("-", "")


def test_run_and_model_version_are_in_the_servers_mariadb(
    server_run: dict[str, Any], mariadb: Any
) -> None:
    run_id = _hex(server_run["run_id"])
    mariadb.execute("SELECT name, status FROM pipeline_run WHERE id = %s", (run_id,))
    run = mariadb.fetchone()
    assert run is not None and run["status"] == "completed", run
    mariadb.execute("SELECT name, status FROM step_run WHERE pipeline_run_id = %s", (run_id,))
    steps = {row["name"]: row["status"] for row in mariadb.fetchall()}
    assert set(steps) == TRAINING_STEPS
    # Same config and data as the quickstart's local run, but a new store: nothing is cached.
    assert set(steps.values()) == {"completed"}, steps
    mariadb.execute(
        "SELECT a.name, av.uri FROM step_run_output_artifact o "
        "JOIN step_run s ON s.id = o.step_id JOIN artifact_version av ON av.id = o.artifact_id "
        "JOIN artifact a ON a.id = av.artifact_id WHERE s.pipeline_run_id = %s",
        (run_id,),
    )
    uris = {row["name"]: row["uri"] for row in mariadb.fetchall()}
    assert {"raw_data", "classifier", "evaluation_report", "registration"} <= set(uris)
    assert all(uri.startswith("s3://tabular-mlops/zenml/") for uri in uris.values()), uris
    mariadb.execute(
        "SELECT mv.number, mv.stage FROM model_version mv JOIN model m ON m.id = mv.model_id "
        "JOIN model_versions_runs r ON r.model_version_id = mv.id "
        "WHERE m.name = %s AND r.pipeline_run_id = %s",
        (MODEL_NAME, run_id),
    )
    versions = mariadb.fetchall()
    assert len(versions) == 1, versions
    assert versions[0]["stage"] == "production"


def test_run_and_model_version_through_the_rest_api(
    server_workspace: ServerWorkspace, server_run: dict[str, Any]
) -> None:
    run = server_workspace.api(f"runs/{server_run['run_id']}?hydrate=true")
    assert run["body"]["status"] == "completed"
    assert run["resources"]["stack"]["name"] == "server"
    steps = server_workspace.api(f"steps?pipeline_run_id={server_run['run_id']}&size=50")
    assert {s["name"] for s in steps["items"]} == TRAINING_STEPS
    versions = server_workspace.api(f"model_versions?model={MODEL_NAME}&size=50")["items"]
    production = [v for v in versions if v["body"]["stage"] == "production"]
    assert len(production) == 1


def test_metrics_and_registry_are_on_the_mlflow_server(
    server_workspace: ServerWorkspace, server_run: dict[str, Any], mlflow_client: Any
) -> None:
    experiment = mlflow_client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    runs = mlflow_client.search_runs(
        [experiment.experiment_id], f"tags.`zenml.run_id` = '{server_run['run_id']}'"
    )
    assert runs, "no MLflow run tagged with the ZenML run id"
    metrics = {k: v for r in runs for k, v in r.data.metrics.items()}
    assert metrics["test_accuracy"] >= 0.9 and metrics["test_roc_auc"] >= 0.95, metrics
    history = mlflow_client.get_metric_history(runs[0].info.run_id, "val_loss")
    assert len(history) >= 2
    files = {
        f.path for r in runs for f in mlflow_client.list_artifacts(r.info.run_id, "evaluation")
    }
    assert "evaluation/roc_curve.png" in files
    # The run's model is a registry version on the server, linked to its MLflow run.
    run_ids = {r.info.run_id for r in runs}
    registered = mlflow_client.search_model_versions(f"name = '{MODEL_NAME}'")
    assert run_ids & {v.run_id for v in registered}
    # champion is on the production version (other server tests may have promoted a later one).
    champion = mlflow_client.get_model_version_by_alias(MODEL_NAME, "champion")
    versions = server_workspace.api(f"model_versions?model={MODEL_NAME}&size=50")["items"]
    production = [v["body"]["number"] for v in versions if v["body"]["stage"] == "production"]
    assert production == [int(champion.tags["zenml_model_version"])]


def test_artifacts_are_objects_in_the_bucket(
    server_workspace: ServerWorkspace, server_run: dict[str, Any], s3: Any, mlflow_client: Any
) -> None:
    bucket = server_workspace.state.s3_bucket
    classifier = server_workspace.step_output(server_run["run_id"], "train_model", "classifier")
    classifier_uri = classifier["body"]["uri"]
    prefix = classifier_uri.removeprefix(f"s3://{bucket}/")
    names = {key.rsplit("/", 1)[-1] for key in s3_keys(s3, bucket, prefix)}
    assert {"model.safetensors", "preprocessor.json", "metadata.json", "model_card.md"} <= names
    # MLflow's artifacts (plots, the logged model) went to the same bucket through its server.
    mlflow_keys = s3_keys(s3, bucket, "mlflow/")
    assert any(key.endswith("evaluation/roc_curve.png") for key in mlflow_keys)
    assert any(key.endswith("/MLmodel") for key in mlflow_keys)


def test_back_to_local(server_workspace: ServerWorkspace, server_run: dict[str, Any]) -> None:
    """`zenml logout` returns to the embedded SQLite store, where `local` still is."""
    ws = server_workspace
    runs_on_server = ws.api("runs?size=1")["total"]
    ws.run("zenml", "logout")
    switched = messages(ws.run("zenml", "stack", "set", "local"))
    assert ws.state.zenml_url not in switched and "local" in switched, switched
    output = messages(ws.train("configs/training.yaml"))
    assert ws.state.zenml_url not in output
    assert "artifact_store: local_artifact_store" in output, output[-3000:]
    assert ws.api("runs?size=1")["total"] == runs_on_server
