"""A gateway killed with SIGKILL under load: the prediction log keeps every answered request.

Every line is a complete record or is reported as torn by monitoring's reader, the records
number at least the 200 answers the clients received, and after a restart the next request
lands on a line of its own (issue 11's acceptance). Half the clients send one-row requests (one
line per row), half 50-row requests (one columnar record each, ``tabular_classifier.log_records``).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from serving.routing import stop_gateway
from tabular_classifier.contract import RowContract
from tabular_classifier.log_records import rows_of
from tabular_classifier.monitoring.config import WindowConfig
from tabular_classifier.monitoring.window import read_window
from tests.serving_fakes import (
    direct_connections,
    gateway_for,
    post_row,
    route_to,
    start_model_server,
)

CLIENTS = 4
BATCH_ROWS = 50


def _post_batch(port: int, timeout: float = 10) -> int:
    """POST a ``BATCH_ROWS``-row request to the gateway's ``/invocations``; the HTTP status."""
    rows = [[float(i)] for i in range(BATCH_ROWS)]
    body = json.dumps({"dataframe_split": {"columns": ["x"], "data": rows}}).encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(
            "POST", "/invocations", body=body, headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_sigkill_under_load_loses_no_answered_prediction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    direct_connections(monkeypatch)
    server = start_model_server()
    route = route_to(server, "crash_model", "c" * 32)
    port, pid = gateway_for(route, tmp_path)
    answered = [0] * CLIENTS
    stop = threading.Event()

    def client(index: int) -> None:
        post = _post_batch if index % 2 else post_row
        while not stop.is_set():
            try:
                if post(port) == 200:
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
        complete, torn, rows, batches = 0, 0, 0, 0
        for line in log_file.read_bytes().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                torn += 1
                continue
            complete += 1
            rows += len(rows_of(record))
            batches += record.get("log_format") == "columns/1"
        # The record is written before the answer is sent: every 200 has its line.
        assert complete >= sum(answered)
        assert batches >= sum(answered[1::2]) > 0
        window, info = read_window(
            WindowConfig(max_rows=None), log_dir, lambda _v: RowContract.from_dict(route.contract)
        )
        assert info.skipped["total"] == torn
        assert len(window) == rows == complete + (BATCH_ROWS - 1) * batches

        # The supervisor restarts the gateway, and the next request starts on a line of its own.
        deadline = time.monotonic() + 60
        while True:
            try:
                if post_row(port) == 200:
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
