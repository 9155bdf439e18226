"""A gateway killed with SIGKILL under load: the prediction log keeps every answered request.

Every line is a complete record or is reported as torn by monitoring's reader, the records
number at least the 200 answers the clients received, and after a restart the next request
lands on a line of its own (issue 11's acceptance).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from serving.identity import process_of
from serving.routing import Route, RouteTable, start_gateway, stop_gateway, write_routes
from tabular_classifier.contract import RowContract
from tabular_classifier.monitoring.config import WindowConfig
from tabular_classifier.monitoring.window import read_window
from tests.unit.test_gateway_hardening import _free_port, _ModelServer, _row

CLIENTS = 4


def _post(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(
            "POST", "/invocations", body=_row(), headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_sigkill_under_load_loses_no_answered_prediction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TABULAR_PREDICTION_LOG", raising=False)
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ModelServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    contract = RowContract.infer(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), ["x"], [])
    route = Route(
        model_name="crash_model",
        model_version="1",
        registered_version="1",
        service_id="00000000-0000-0000-0000-000000000002",
        url=f"{base}/invocations",
        health_url=f"{base}/ping",
        contract=contract.to_dict(),
        deployment_id="c" * 32,
        # The model server runs in this process (identified by the gateway).
        server_pid=os.getpid(),
        server_started_at=process_of(os.getpid()).started_at,
    )
    write_routes(RouteTable(active=route, previous=None, updated_at=time.time()), tmp_path)
    port = _free_port()
    pid = start_gateway(port=port, directory=tmp_path, timeout=60)
    answered = [0] * CLIENTS
    stop = threading.Event()

    def client(index: int) -> None:
        while not stop.is_set():
            try:
                if _post(port) == 200:
                    answered[index] += 1
            except OSError:
                return  # the gateway is gone

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while sum(answered) < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)  # the gateway; its supervisor stays
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        assert sum(answered) >= 200

        log_dir = tmp_path / "predictions"
        (log_file,) = log_dir.glob("serving-*.jsonl")
        complete, torn = 0, 0
        for line in log_file.read_bytes().splitlines():
            try:
                json.loads(line)
                complete += 1
            except ValueError:
                torn += 1
        # The record is written before the answer is sent: every 200 has its line.
        assert complete >= sum(answered)
        window, info = read_window(WindowConfig(max_rows=None), log_dir, lambda _v: contract)
        assert info.skipped["total"] == torn
        assert len(window) == complete

        # The supervisor restarts the gateway, and the next request starts on a line of its own.
        deadline = time.monotonic() + 60
        while True:
            try:
                if _post(port) == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the gateway was not restarted"
            time.sleep(0.2)
        last = log_file.read_bytes().splitlines()[-1]
        assert json.loads(last)["model_name"] == "crash_model"
    finally:
        stop.set()
        stop_gateway(tmp_path)
        server.shutdown()
        server.server_close()
