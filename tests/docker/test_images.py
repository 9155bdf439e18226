"""The three images build, and each does its job when run (issue 14).

- the MLflow image serves MLflow's UI and REST API;
- the serving image pulls ``models:/NAME@champion`` from that MLflow server and answers the
  serving contract over HTTP: the same probabilities as the registered pyfunc loaded here, the
  registered version in ``model_version``, and HTTP 400 naming the column for a bad row;
- the pipeline image runs the training pipeline (every step, on the embedded local stack), from
  a fresh copy of the checkout, as its non-root user.

Containers that must reach a server on the host's 127.0.0.1 use host networking. Each test
removes its containers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from scripts.isolated_checkout import copy_checkout
from scripts.ports import free_port
from scripts.server_stack import http_status
from serving.mlflow_model import log_pyfunc_model
from tabular_classifier.evaluation import evaluate
from tabular_classifier.predictor import Predictor
from tests.conftest import CoreTrainedModel
from tests.docker.conftest import APP_UID, IMAGES, Docker

pytestmark = pytest.mark.docker

MODEL_NAME = "breast_cancer_classifier"
ALLOWED_HOSTS = "localhost,localhost:*,127.0.0.1,127.0.0.1:*"


def _wait_for(url: str, timeout_s: float, docker: Docker, container: str) -> None:
    """Wait until ``GET url`` answers 200; fail with the container's log if it never does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if http_status(url) == 200:
            return
        state = docker("inspect", "-f", "{{.State.Running}}", container, check=False)
        if state.stdout.strip() == "false":
            break
        time.sleep(1)
    logs = docker("logs", "--tail", "60", container, check=False)
    pytest.fail(f"{url} did not answer 200 within {timeout_s} s\n{logs.stdout}{logs.stderr}")


def _post_json(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _start_mlflow(docker: Docker, names: list[str]) -> str:
    """Run the MLflow image on a free port (SQLite backend, proxied artifacts); its URL."""
    port = free_port()
    name = f"tabular-test-mlflow-{port}"
    names.append(name)
    docker(
        "run", "-d", "--name", name, "--network", "host", IMAGES["mlflow"],
        "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", "sqlite:////home/mlflow/mlflow.db",
        "--allowed-hosts", ALLOWED_HOSTS,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    _wait_for(f"{url}/health", 180, docker, name)
    return url


@pytest.mark.parametrize("name", list(IMAGES))
def test_image_builds_and_runs_python_311_as_non_root(
    name: str, docker: Docker, build_seconds: dict[str, float]
) -> None:
    assert build_seconds[name] > 0
    user = docker("image", "inspect", "-f", "{{.Config.User}}", IMAGES[name]).stdout.strip()
    assert user == str(APP_UID)
    probe = docker(
        "run", "--rm", "--entrypoint", "python", IMAGES[name], "-c",
        "import os, sys; print(sys.version_info[:2], os.getuid(), sys.prefix)",
    )  # fmt: skip
    assert probe.stdout.strip() == f"(3, 11) {APP_UID} /opt/venv"


def test_mlflow_image_serves_ui_and_api(
    docker: Docker, build_seconds: dict[str, float], container_names: list[str]
) -> None:
    url = _start_mlflow(docker, container_names)
    with urllib.request.urlopen(f"{url}/", timeout=30) as response:
        page = response.read().decode()
    assert response.status == 200 and "<title>MLflow</title>" in page
    status, created = _post_json(
        f"{url}/api/2.0/mlflow/experiments/create", {"name": "docker-image-test"}
    )
    assert status == 200, created
    with urllib.request.urlopen(
        f"{url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=docker-image-test",
        timeout=30,
    ) as response:
        experiment = json.loads(response.read())["experiment"]
    assert experiment["experiment_id"] == created["experiment_id"]


def test_serving_image_answers_the_serving_contract(
    docker: Docker,
    build_seconds: dict[str, float],
    container_names: list[str],
    core_breast_cancer_model: CoreTrainedModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trained = core_breast_cancer_model
    tracking_uri = _start_mlflow(docker, container_names)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    report = evaluate(Predictor(trained.bundle), trained.test, trained.schema)
    with mlflow.start_run():
        info = log_pyfunc_model(trained.bundle, report, model_version="1")
    version = mlflow.register_model(info.model_uri, MODEL_NAME)
    MlflowClient().set_registered_model_alias(MODEL_NAME, "champion", version.version)

    port = free_port()
    name = f"tabular-test-serving-{port}"
    container_names.append(name)
    docker(
        "run", "-d", "--name", name, "--network", "host",
        "-e", f"MLFLOW_TRACKING_URI={tracking_uri}", "-e", f"MODEL_NAME={MODEL_NAME}",
        "-e", f"SERVING_PORT={port}", "-e", "SERVING_WORKERS=1",
        "-e", "MODEL_WAIT_INTERVAL_S=2", IMAGES["serving"],
    )  # fmt: skip
    _wait_for(f"http://127.0.0.1:{port}/ping", 300, docker, name)

    rows = trained.test.drop(columns=[trained.schema.target]).head(25)
    status, body = _post_json(
        f"http://127.0.0.1:{port}/invocations",
        {"dataframe_split": {"columns": list(rows.columns), "data": rows.values.tolist()}},
    )
    assert status == 200, body
    served = pd.DataFrame(body["predictions"])
    expected = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion").predict(rows)
    assert list(served["model_version"].unique()) == ["1"]
    assert served["probability"].tolist() == pytest.approx(
        expected["probability"].tolist(), abs=1e-9
    )
    assert served["label"].tolist() == expected["label"].tolist()
    assert served["probability"].between(0.0, 1.0).all()

    column = rows.columns[0]
    bad = rows.head(1).astype(object)
    bad.iloc[0, 0] = "not a number"
    status, body = _post_json(
        f"http://127.0.0.1:{port}/invocations",
        {"dataframe_split": {"columns": list(bad.columns), "data": bad.values.tolist()}},
    )
    assert status == 400, body
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert column in body["message"], body["message"]


_RUN_SUMMARY = """
import json, socket
from zenml.client import Client


def summary():
    run = Client().list_pipeline_runs(sort_by="desc:created", size=1).items[0]
    report = run.steps["evaluate_model"].outputs["evaluation_report"][0].load()
    print("SUMMARY " + json.dumps({
        "status": str(run.status.value),
        "steps": {name: str(step.status.value) for name, step in run.steps.items()},
        "hostname": socket.gethostname(),
        "metrics": report.metrics,
    }))


summary()
"""


def test_pipeline_image_runs_the_training_pipeline(
    docker: Docker,
    build_seconds: dict[str, float],
    container_names: list[str],
    tmp_path: Path,
) -> None:
    """The README's quickstart, inside the pipeline image: every step of a training run."""
    checkout = copy_checkout(tmp_path / "repo")
    # The image has the environment, not the code; the checkout is mounted as ZenML would
    # extract it. The data file is made on the host (scripts/materialize_data.py, offline).
    (checkout / ".venv").unlink()
    materialize = docker.env() | {"PYTHONPATH": str(checkout)}
    subprocess.run(
        [sys.executable, "-m", "scripts.materialize_data"],
        cwd=checkout,
        env=materialize,
        check=True,
        timeout=300,
        capture_output=True,
    )
    (checkout / "summary.py").write_text(_RUN_SUMMARY)
    subprocess.run(["chown", "-R", f"{APP_UID}:{APP_UID}", str(checkout)], check=True)
    name = f"tabular-test-pipeline-{tmp_path.name}"[:60]
    container_names.append(name)
    result = docker(
        "run", "--name", name, "-v", f"{checkout}:/app/work", "-w", "/app/work",
        "-e", "ZENML_CONFIG_PATH=/app/work/.zenml-home", "-e", "PYTHONPATH=/app/work",
        IMAGES["pipeline"], "sh", "-euc",
        "zenml init >/dev/null\n"
        "python -m stacks apply stacks/local.yaml\n"
        "zenml pipeline run pipelines.training.training_pipeline -c configs/training.yaml\n"
        "python summary.py\n",
        timeout=1200,
    )  # fmt: skip
    line = next(x for x in result.stdout.splitlines() if x.startswith("SUMMARY "))
    summary = json.loads(line.removeprefix("SUMMARY "))
    container_id = docker("inspect", "-f", "{{.Id}}", name).stdout.strip()
    assert container_id.startswith(summary["hostname"])
    assert summary["status"] == "completed", summary
    assert {"ingest_data", "train_model", "evaluate_model", "register_model"} <= set(
        summary["steps"]
    )
    assert set(summary["steps"].values()) == {"completed"}, summary["steps"]
    assert summary["metrics"]["test_roc_auc"] >= 0.95, summary["metrics"]
