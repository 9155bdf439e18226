"""A gateway killed with SIGKILL under load: the prediction log keeps every answered request.

Every line is a complete record or is reported as torn by monitoring's reader, the records
number at least the 200 answers the clients received, and after a restart the next request
lands on a line of its own (issue 11's acceptance).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from serving.routing import stop_gateway
from tabular_classifier.contract import RowContract
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
        while not stop.is_set():
            try:
                if post_row(port) == 200:
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
        window, info = read_window(
            WindowConfig(max_rows=None), log_dir, lambda _v: RowContract.from_dict(route.contract)
        )
        assert info.skipped["total"] == torn
        assert len(window) == complete

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
