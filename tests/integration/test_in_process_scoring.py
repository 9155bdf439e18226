"""The gateway scores a deployment's own model in process, and forwards only when it must.

A real MLflow pyfunc model (``serving.mlflow_model.save_pyfunc_model``) is staged as a deployment
stages it (``release.local_model.stage_model``, from a local model URI instead of the registry);
the route's model server is a fake (``tests.serving_fakes``) that answers a constant 0.25, so
every answer shows which path scored it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from release.local_model import MODELS_DIR, remove_staged, stage_model
from scripts.ports import free_port
from serving.gateway import create_app
from serving.gateway_process import start_gateway, stop_gateway
from serving.mlflow_model import save_pyfunc_model
from serving.routing import Route, RouteTable, write_routes
from serving.scorer import MANIFEST
from tabular_classifier.config import DataConfig, SplitConfig
from tabular_classifier.data import split_data, validate_and_infer_schema
from tabular_classifier.evaluation import EvaluationReport, evaluate
from tabular_classifier.log_records import rows_of
from tabular_classifier.predictor import Predictor
from tests.serving_fakes import PROBABILITY, direct_connections, route_to, start_model_server
from tests.training_helpers import fit_small_bundle

DEPLOYMENT = "d" * 32


def _table(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "tenure": rng.integers(0, 72, size=n).astype(float),
            "plan": rng.choice(["basic", "plus", "pro"], size=n).astype(object),
        }
    )
    frame.loc[rng.random(n) < 0.1, "tenure"] = np.nan
    frame.loc[rng.random(n) < 0.1, "plan"] = None
    frame["churn"] = np.where((frame["tenure"] < 24) | (rng.random(n) < 0.1), "yes", "no")
    return frame


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Predictor, EvaluationReport]:
    """(an MLflow model directory, its predictor, its evaluation report)."""
    root = tmp_path_factory.mktemp("model")
    table = _table()
    data_cfg = DataConfig(path="churn.csv", target="churn", positive_label="yes")
    bundle = fit_small_bundle(table, data_cfg, "in-process", hidden_sizes=[8, 4], epochs=4)
    schema = validate_and_infer_schema(table, data_cfg, "churn.csv")
    _, _, test = split_data(table, schema, SplitConfig(), "churn.csv")
    predictor = Predictor(bundle)
    report = evaluate(predictor, test, schema)
    save_pyfunc_model(root / "mlflow-model", bundle, report, "1")
    return root / "mlflow-model", predictor, report


@pytest.fixture()
def served(
    model: tuple[Path, Predictor, EvaluationReport],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Route, Path]]:
    """A staged route (in the state directory ``tmp_path/state``) to a fake model server."""
    direct_connections(monkeypatch)
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("TABULAR_SERVING_STATE", str(state))
    server = start_model_server()
    model_dir, predictor, report = model
    route = replace(
        route_to(server, "churn", DEPLOYMENT),
        contract=predictor.contract.to_dict(),
        model_uri=str(model_dir),
    )
    staged = stage_model(route, report, tolerance=1e-6)
    try:
        yield staged, state
    finally:
        server.shutdown()
        server.server_close()


def _request() -> tuple[bytes, pd.DataFrame]:
    rows = [[3.0, "basic"], [None, "pro"], [50.0, None], [12.0, "gold"]]
    body = {"dataframe_split": {"columns": ["tenure", "plan"], "data": rows}}
    return json.dumps(body).encode(), pd.DataFrame(rows, columns=["tenure", "plan"])


def _post(client: TestClient, model_name: str = "churn") -> Any:
    body, _ = _request()
    return client.post(
        f"/models/{model_name}/invocations",
        content=body,
        headers={"Content-Type": "application/json", "X-Request-Id": "req-1"},
    )


def _serve(route: Route, state: Path) -> TestClient:
    write_routes(RouteTable(active=route, previous=None, updated_at=time.time()), state)
    return TestClient(create_app(state, state / "predictions"))


def test_stage_model_copies_and_checks_the_served_model(
    served: tuple[Route, Path], model: tuple[Path, Predictor, EvaluationReport]
) -> None:
    route, state = served
    assert Path(route.model_path).parent == state / MODELS_DIR / DEPLOYMENT
    manifest = json.loads((Path(route.model_path) / MANIFEST).read_text())
    assert manifest == {
        "model_name": "churn",
        "model_version": "1",
        "registered_version": "1",
        "model_uri": str(model[0]),
        "deployment_id": DEPLOYMENT,
    }
    remove_staged(route)
    assert not (state / MODELS_DIR / DEPLOYMENT).exists()


def test_the_gateway_scores_in_process_with_the_predictors_probabilities(
    served: tuple[Route, Path], model: tuple[Path, Predictor, EvaluationReport]
) -> None:
    route, state = served
    predictor = model[1]
    _, frame = _request()
    expected = predictor.predict_proba(frame)
    with _serve(route, state) as client:
        response = _post(client)
        assert response.status_code == 200, response.text
        answer = response.json()
        got = [p["probability"] for p in answer["predictions"]]
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
        assert PROBABILITY not in got  # not the fake model server's answer
        assert [p["label"] for p in answer["predictions"]] == [
            str(label) for label in predictor.predict(frame)
        ]
        assert answer["model_version"] == "1"
        assert [p["unknown_categories"] for p in answer["predictions"]] == [0, 0, 0, 1]
        assert answer["unknown_categories"] == {"plan": 1}
        assert set(answer["predictions"][0]) == {
            "probability",
            "label",
            "model_version",
            "unknown_categories",
        }
        health = client.get("/models/churn/health").json()
        assert health["scoring"] == "in_process" and health["status"] == "ok"
        metrics = client.get("/metrics").text
        assert 'gateway_scored_requests_total{path="in_process"} 1.0' in metrics
        bad = client.post(
            "/invocations",
            content=b'{"dataframe_split": {"columns": ["tenure", "plan"], "data": [["x", "a"]]}}',
            headers={"Content-Type": "application/json"},
        )
        assert bad.status_code == 422 and bad.json()["field"] == "tenure"
    logged = [
        row
        for path in sorted((state / "predictions").rglob("*.jsonl"))
        for line in path.read_text().splitlines()
        for row in rows_of(json.loads(line))
    ]
    assert len(logged) == 4
    files = sorted((state / "predictions").rglob("*.jsonl"))
    (line,) = [line for path in files for line in path.read_text().splitlines()]
    assert json.loads(line)["log_format"] == "columns/1"  # one columnar record per request
    assert {record["request_id"] for record in logged} == {"req-1"}
    assert {record["model_name"] for record in logged} == {"churn"}
    assert [record["plan"] for record in logged] == ["basic", "pro", None, "gold"]
    np.testing.assert_allclose([r["probability"] for r in logged], expected, rtol=0, atol=1e-6)


def test_in_process_scoring_goes_on_while_the_model_server_is_down(
    served: tuple[Route, Path],
) -> None:
    route, state = served
    dead = replace(route, server_pid=2**22 + 12345, url="http://127.0.0.1:9/invocations")
    with _serve(dead, state) as client:
        response = _post(client)
        assert response.status_code == 200
        assert response.json()["predictions"][0]["probability"] != PROBABILITY
        health = client.get("/health")
        assert health.status_code == 200
        assert health.json()["model_server"].startswith("model server unidentified")


@pytest.mark.parametrize(
    "change",
    [
        {"model_name": "other"},  # the copy's manifest names another model
        {"model_version": "2"},  # ... another version
        {"deployment_id": "e" * 32},  # ... another deployment
        {"model_path": ""},  # a route from before in-process scoring
    ],
)
def test_a_copy_that_is_not_the_routes_model_is_not_used(
    served: tuple[Route, Path], change: dict[str, str]
) -> None:
    route, state = served
    with _serve(replace(route, **change), state) as client:
        model = change.get("model_name", "churn")
        response = _post(client, model)
        assert response.status_code == 200, response.text
        # Forwarded to the (fake) model server, which answers 0.25 for every row.
        assert [p["probability"] for p in response.json()["predictions"]] == [PROBABILITY] * 4
        assert client.get(f"/models/{model}/health").json()["scoring"] == "model_server"


def test_a_copy_failing_its_smoke_test_is_not_staged(
    served: tuple[Route, Path], model: tuple[Path, Predictor, EvaluationReport]
) -> None:
    route, state = served
    report = model[2]
    wrong = replace(report, smoke_probabilities=[p + 0.01 for p in report.smoke_probabilities])
    other = replace(route, deployment_id="f" * 32, model_path="")
    assert stage_model(other, wrong, tolerance=1e-6).model_path == ""
    assert not (state / MODELS_DIR / ("f" * 32)).exists()


def test_the_supervised_gateway_runs_one_blas_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    state = tmp_path / "state"
    state.mkdir()
    pid = start_gateway(port=free_port(), directory=state, timeout=60)
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    finally:
        stop_gateway(state)
    assert b"OPENBLAS_NUM_THREADS=1" in environ


def test_release_status_shows_how_the_gateway_scores_each_model(
    served: tuple[Route, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from release.__main__ import _status

    route, state = served
    forwarded = replace(route, model_name="other", deployment_id="e" * 32, model_path="")
    write_routes(RouteTable(active=route, previous=None, updated_at=time.time()), state)
    write_routes(
        RouteTable(active=forwarded, previous=None, updated_at=time.time()),
        state,
        model_name="other",
    )
    port = free_port()
    monkeypatch.setenv("TABULAR_GATEWAY_PORT", str(port))
    assert _status(None, production=False)["scoring"] is None  # no gateway answers
    start_gateway(port=port, directory=state, timeout=60)
    try:
        status = _status(None, production=False)
    finally:
        stop_gateway(state)
    assert status["scoring"] == "in_process"
    assert status["models"]["churn"]["scoring"] == "in_process"
    assert status["models"]["other"]["scoring"] == "model_server"
