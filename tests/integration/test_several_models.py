"""Two models (two data sets, same version number) behind one gateway, on real processes.

Each model has its own model server process, contract and routing table; ``/models/<name>/
invocations`` serves each, ``/invocations`` the default model, and replacing one model's routes
leaves the other's alone.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from serving.identity import listening_pids, process_of
from serving.routing import (
    ROUTE_FILE,
    Route,
    RouteTable,
    read_routes,
    read_serving,
    start_gateway,
    stop_gateway,
    write_routes,
)
from tabular_classifier.contract import RowContract
from tabular_classifier.log_records import rows_of

SERVER = Path(__file__).with_name("model_server_process.py")
# Model name -> (its only feature column, the probability its server answers).
MODELS = {"breast_cancer_classifier": ("radius", 0.25), "card_classifier": ("amount", 0.75)}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _request(
    port: int, method: str, path: str, body: dict[str, object] | None = None
) -> tuple[int, dict[str, object]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            method,
            path,
            None if body is None else json.dumps(body),
            {"Content-Type": "application/json"},
        )
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw.startswith(b"{") else {"text": raw}
    finally:
        connection.close()


def _rows(column: str, n: int = 2) -> dict[str, object]:
    return {"dataframe_split": {"columns": [column], "data": [[float(i)] for i in range(n)]}}


def _start_server(port: int, probability: float) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "--port", str(port), "--probabilities", f"[{probability}]"]
    )
    deadline = time.monotonic() + 30
    while process.pid not in listening_pids(port):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    return process


def _route(model: str, port: int, pid: int, deployment_id: str) -> Route:
    column = MODELS[model][0]
    contract = RowContract.infer(pd.DataFrame({column: [1.0, 2.0, 3.0]}), [column], [])
    server = process_of(pid)
    return Route(
        model_name=model,
        model_version="1",
        registered_version="1",
        service_id=f"00000000-0000-0000-0000-00000000000{deployment_id[0]}",
        url=f"http://127.0.0.1:{port}/invocations",
        health_url=f"http://127.0.0.1:{port}/ping",
        contract=contract.to_dict(),
        deployment_id=deployment_id,
        server_pid=server.pid,
        server_started_at=server.started_at,
    )


@pytest.fixture(scope="module")
def two_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A gateway on a free port serving both models; yields (gateway port, state dir)."""
    state = tmp_path_factory.mktemp("two_models")
    processes = []
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("TABULAR_PREDICTION_LOG", raising=False)
        for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
            patch.delenv(name, raising=False)
        patch.setenv("no_proxy", "127.0.0.1,localhost")
        for model, letter in zip(MODELS, "ab", strict=True):
            port = _free_port()
            process = _start_server(port, MODELS[model][1])
            processes.append(process)
            route = _route(model, port, process.pid, letter * 32)
            write_routes(RouteTable(active=route, previous=None, updated_at=1.0), state)
        gateway_port = _free_port()
        start_gateway(port=gateway_port, directory=state, timeout=60)
        try:
            yield gateway_port, state
        finally:
            stop_gateway(state)
            for process in processes:
                process.kill()
                process.wait(timeout=10)


def test_each_model_is_served_at_its_own_path(two_models: tuple[int, Path]) -> None:
    port, _ = two_models
    for model, (column, probability) in MODELS.items():
        status, body = _request(port, "POST", f"/models/{model}/invocations", _rows(column))
        assert status == 200, body
        assert body["model_version"] == "1"
        assert [p["probability"] for p in body["predictions"]] == [probability, probability]
        status, health = _request(port, "GET", f"/models/{model}/health")
        assert status == 200 and health["model_name"] == model and health["status"] == "ok"


def test_invocations_serves_the_default_model(two_models: tuple[int, Path]) -> None:
    port, state = two_models
    assert read_serving(state).default_model == "breast_cancer_classifier"  # deployed first
    status, body = _request(port, "POST", "/invocations", _rows("radius"))
    assert status == 200 and body["predictions"][0]["probability"] == 0.25
    status, health = _request(port, "GET", "/health")
    assert health["model_name"] == "breast_cancer_classifier"


def test_each_model_checks_its_own_contract(two_models: tuple[int, Path]) -> None:
    port, _ = two_models
    status, body = _request(port, "POST", "/models/card_classifier/invocations", _rows("radius"))
    assert status == 422 and "missing columns: 'amount'" in str(body["message"])
    status, body = _request(port, "POST", "/models/iris/invocations", _rows("radius"))
    assert status == 404 and body["error_code"] == "MODEL_NOT_FOUND"
    assert body["message"] == (
        "model 'iris' is not served here; served: breast_cancer_classifier, card_classifier"
    )


def test_log_and_metrics_name_the_model(two_models: tuple[int, Path]) -> None:
    port, state = two_models
    _request(port, "POST", "/models/card_classifier/invocations", _rows("amount", 3))
    lines = [
        row
        for path in sorted((state / "predictions").glob("serving-*.jsonl"))
        for line in path.read_text().splitlines()
        for row in rows_of(json.loads(line))
    ]
    card = [line for line in lines if line["model_name"] == "card_classifier"]
    assert card and all("amount" in line and "radius" not in line for line in card)
    assert {line["probability"] for line in card} == {0.75}
    _, body = _request(port, "GET", "/metrics")
    metrics = bytes(body["text"]).decode()  # type: ignore[call-overload]
    assert 'gateway_predictions_total{model_name="card_classifier",model_version="1"}' in metrics


def test_replacing_one_models_routes_leaves_the_other_alone(two_models: tuple[int, Path]) -> None:
    port, state = two_models
    card_before = read_routes(state, "card_classifier")
    breast = read_routes(state, "breast_cancer_classifier")
    assert breast.active is not None
    # A new deployment of breast_cancer_classifier (another id, same server) replaces its table.
    moved = Route(**{**breast.active.__dict__, "deployment_id": "c" * 32})
    write_routes(RouteTable(active=moved, previous=breast.active, updated_at=2.0), state)
    assert read_routes(state, "card_classifier") == card_before
    assert read_routes(state, "breast_cancer_classifier").active == moved
    time.sleep(0.05)
    _, health = _request(port, "GET", "/models/breast_cancer_classifier/health")
    assert health["deployment_id"] == "c" * 32
    status, body = _request(port, "POST", "/models/card_classifier/invocations", _rows("amount"))
    assert status == 200 and body["predictions"][0]["probability"] == 0.75


def test_a_one_model_route_json_still_reads(tmp_path: Path) -> None:
    route = _route("card_classifier", 8000, os.getpid(), "e" * 32)
    old = {"active": route.__dict__, "previous": None, "updated_at": 3.0, "history": []}
    (tmp_path / ROUTE_FILE).write_text(json.dumps(old))
    serving = read_serving(tmp_path)
    assert serving.default_model == "card_classifier"
    assert serving.table().active == route
