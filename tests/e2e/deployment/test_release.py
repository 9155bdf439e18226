"""Blue-green release: a switch under load, rollback, a failed smoke test, stop and redeploy."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.e2e.deployment.helpers import (
    MODEL_NAME,
    deploy,
    gateway_url,
    payload,
    post,
    release_status,
)
from tests.e2e.workspace import Workspace

pytestmark = pytest.mark.e2e


def test_blue_green_switch_under_load_fails_no_request(
    workspace: Workspace,
    model_versions: dict[str, str],
    zenml_client: Any,
    serving_production: dict[str, Any],
) -> None:
    report = (
        zenml_client.get_model_version(MODEL_NAME, model_versions["baseline"])
        .get_artifact("evaluation_report")
        .load()
    )
    body = payload(report.smoke_frame().head(3))
    results: list[tuple[int, str]] = []
    stop = threading.Event()

    def load() -> None:
        deadline = time.monotonic() + 300
        while not stop.is_set() and time.monotonic() < deadline and len(results) < 20000:
            try:
                status, answer = post(body, timeout=10)
                results.append((status, str(answer.get("model_version"))))
            except Exception as exc:  # noqa: BLE001 - every failure counts
                results.append((0, repr(exc)))
            time.sleep(0.01)

    before = post(body)[1]["model_version"]
    assert before == serving_production["active"]["model_version"]
    thread = threading.Thread(target=load)
    thread.start()
    try:
        deploy(workspace, model_versions["baseline"])
        time.sleep(1.0)
    finally:
        stop.set()
        thread.join()
    failures = [r for r in results if r[0] != 200]
    assert not failures, failures[:5]
    served = [v for _, v in results]
    assert len(served) > 20
    assert served[0] == before and served[-1] == model_versions["baseline"]
    status = release_status(workspace)
    assert status["active"]["model_version"] == model_versions["baseline"]
    assert status["previous"]["model_version"] == before
    assert status["previous_server_healthy"] is True  # kept running for an instant rollback


@pytest.mark.usefixtures("baseline_after_production")
def test_rollback_restores_the_previous_production_version(
    workspace: Workspace, model_versions: dict[str, str], zenml_client: Any, mlflow_client: Any
) -> None:
    # Served now: "baseline", deployed explicitly after production; promotion refused it (and
    # "cached"), so rollback returns to the production version before it, and a second
    # rollback has nowhere to go: no refused version ever becomes production.
    status = release_status(workspace)
    assert status["active"]["model_version"] == model_versions["baseline"]
    previous = model_versions["production"]
    first = workspace.run("python", "-m", "release", "rollback")
    # One line says what is served now; the whole status is one command away, not printed.
    assert first.stdout.splitlines()[-2:] == [
        f"now serving {MODEL_NAME} version {model_versions['production']}",
        "details: python -m release status",
    ]
    second = workspace.run("python", "-m", "release", "rollback", check=False)
    assert second.returncode == 1 and "nothing to roll back to" in second.stderr
    for refused in (model_versions["cached"], model_versions["baseline"]):
        assert "production" not in str(zenml_client.get_model_version(MODEL_NAME, refused).stage)
    version = zenml_client.get_model_version(MODEL_NAME, previous)
    report = version.get_artifact("evaluation_report").load()
    code, body = post(payload(report.smoke_frame()))
    assert code == 200 and body["model_version"] == previous
    np.testing.assert_allclose(
        [p["probability"] for p in body["predictions"]], report.smoke_probabilities, atol=1e-6
    )
    assert str(zenml_client.get_model_version(MODEL_NAME, "production").number) == previous
    registered = version.run_metadata["registration"]["registered_version"]
    assert (
        str(mlflow_client.get_model_version_by_alias(MODEL_NAME, "champion").version) == registered
    )


def _tamper_with_mlflow_model(mlflow_client: Any, registered_version: str) -> dict[Path, bytes]:
    """Shift the served model's scaling means, keeping the bundle's checksums consistent.

    Returns the original bytes of the changed files, to put back afterwards.
    """
    import mlflow
    from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository
    from mlflow.tracking._model_registry import utils as registry_utils

    # ModelsArtifactRepository reads MLflow's process-wide URIs: set them for this call only.
    # Left set, the registry URI would send every later MlflowClient(tracking_uri=...) of this
    # pytest process to this store's registry (it made another stack's registry look empty).
    previous = (mlflow.get_tracking_uri(), registry_utils._registry_uri)
    mlflow.set_tracking_uri(mlflow_client.tracking_uri)
    mlflow.set_registry_uri(mlflow_client.tracking_uri)
    try:
        uri = ModelsArtifactRepository.get_underlying_uri(
            f"models:/{MODEL_NAME}/{registered_version}"
        )
    finally:
        mlflow.set_tracking_uri(previous[0])
        registry_utils._registry_uri = previous[1]
    root = Path(uri.removeprefix("file://"))
    pre_path = next(root.rglob("bundle/preprocessor.json"))
    meta_path = pre_path.with_name("metadata.json")
    originals = {pre_path: pre_path.read_bytes(), meta_path: meta_path.read_bytes()}
    pre = json.loads(pre_path.read_text())
    pre["means"] = [m + 1.0 for m in pre["means"]]
    pre_bytes = json.dumps(pre).encode()
    pre_path.write_bytes(pre_bytes)
    meta = json.loads(meta_path.read_text())
    meta["checksums"]["preprocessor.json"] = hashlib.sha256(pre_bytes).hexdigest()
    meta_path.write_text(json.dumps(meta))
    return originals


@pytest.mark.usefixtures("baseline_after_production")
def test_failed_smoke_test_keeps_the_old_version_serving(
    workspace: Workspace, model_versions: dict[str, str], zenml_client: Any, mlflow_client: Any
) -> None:
    before = release_status(workspace)
    active = before["active"]["model_version"]
    candidates = [model_versions[k] for k in ("production", "cached", "baseline")]
    target = next(v for v in candidates if v not in {active, before["previous"]["model_version"]})
    version = zenml_client.get_model_version(MODEL_NAME, target)
    originals = _tamper_with_mlflow_model(
        mlflow_client, version.run_metadata["registration"]["registered_version"]
    )
    servers_before = len(zenml_client.active_stack.model_deployer.find_model_server())
    try:
        result = deploy(workspace, target, check=False)
    finally:
        for path, content in originals.items():
            path.write_bytes(content)
    assert result.returncode != 0
    assert "smoke test: probabilities differ" in result.stdout + result.stderr
    after = release_status(workspace)
    assert after["active"] == before["active"] and after["previous"] == before["previous"]
    report = (
        zenml_client.get_model_version(MODEL_NAME, active).get_artifact("evaluation_report").load()
    )
    code, body = post(payload(report.smoke_frame()))
    assert code == 200 and body["model_version"] == active
    assert len(zenml_client.active_stack.model_deployer.find_model_server()) == servers_before


@pytest.mark.usefixtures("serving_production")
def test_redeploy_after_stop_serves_again(
    workspace: Workspace, model_versions: dict[str, str]
) -> None:
    before = release_status(workspace)
    assert [name for name, model in before["models"].items() if model["served"]] == [MODEL_NAME]
    servers = sum(before[route] is not None for route in ("active", "previous"))
    stop = workspace.run("python", "-m", "release", "stop")
    assert stop.stdout.splitlines()[-2:] == [
        f"stopped the gateway and {servers} model server{'s' * (servers != 1)} of 1 model "
        f"({MODEL_NAME})",
        "details: python -m release status",
    ]
    status = release_status(workspace)
    assert status["active"] is None and status["gateway_running"] is False
    deploy(workspace, None)
    status = release_status(workspace, "--production")
    assert status["active_server_healthy"] is True
    assert status["production_version"] == status["active"]["model_version"]
    health = json.loads(urllib.request.urlopen(f"{gateway_url()}/health").read())
    active = status["active"]
    assert len(active["deployment_id"]) == 32
    assert health == {
        "service": "tabular-gateway",
        "status": "ok",
        "model_name": active["model_name"],
        "model_version": active["model_version"],
        "deployment_id": active["deployment_id"],
        "scoring": "in_process",
        "model_server": "ok",
    }
