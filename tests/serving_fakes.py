"""A stand-in model server for gateway tests: real HTTP, fixed answers, in the test process.

The gateway's own behaviour (limits, logging, supervision, crash safety) does not depend on the
model, so these tests put a plain ``http.server`` behind it that answers like MLflow's scoring
server. It runs in the test process, so the route records the test's own PID and start time,
which the gateway's identity check (``serving.identity``) then finds listening on the port.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from scripts.ports import free_port
from serving.identity import process_of
from serving.routing import Route, RouteTable, start_gateway, stop_gateway, write_routes
from tabular_classifier.contract import RowContract

PROBABILITY = 0.25
LABEL = "0"


class FakeModelServer(BaseHTTPRequestHandler):
    """``GET /ping`` 200; ``POST`` one prediction (:data:`PROBABILITY`, :data:`LABEL`, version
    "1") per row of a ``dataframe_split`` body; any other GET 404."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response(200 if self.path == "/ping" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prediction = {"probability": PROBABILITY, "label": LABEL, "model_version": "1"}
        answer = json.dumps(
            {"predictions": [prediction for _ in body["dataframe_split"]["data"]]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def start_model_server() -> ThreadingHTTPServer:
    """A :class:`FakeModelServer` on a free 127.0.0.1 port, served by a daemon thread.

    The caller stops it with ``shutdown()`` and ``server_close()``.
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeModelServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def route_to(server: ThreadingHTTPServer, model_name: str, deployment_id: str) -> Route:
    """The route of ``model_name`` version 1 to ``server``: one float feature ``x``.

    Args:
        server: From :func:`start_model_server`.
        model_name: The route's model name.
        deployment_id: 32 characters.
    """
    base = f"http://127.0.0.1:{server.server_address[1]}"
    here = process_of(os.getpid())
    return Route(
        model_name=model_name,
        model_version="1",
        registered_version="1",
        service_id="00000000-0000-0000-0000-000000000001",
        url=f"{base}/invocations",
        health_url=f"{base}/ping",
        contract=RowContract.infer(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), ["x"], []).to_dict(),
        deployment_id=deployment_id,
        server_pid=here.pid,
        server_started_at=here.started_at,
    )


def direct_connections(patch: pytest.MonkeyPatch) -> None:
    """No proxy for 127.0.0.1, and the prediction log in the gateway's state directory."""
    patch.delenv("TABULAR_PREDICTION_LOG", raising=False)
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        patch.delenv(name, raising=False)
    patch.setenv("no_proxy", "127.0.0.1,localhost")


def one_row(value: object = 1.5) -> bytes:
    """A ``dataframe_split`` request body: one row, ``x`` = ``value``."""
    return json.dumps({"dataframe_split": {"columns": ["x"], "data": [[value]]}}).encode()


def gateway_for(route: Route, directory: Path) -> tuple[int, int]:
    """Write ``route`` as the only route in ``directory`` and start a gateway on a free port.

    Returns:
        (port, PID of the gateway process). Stop it with ``serving.routing.stop_gateway``.

    Raises:
        RuntimeError: If the gateway does not answer within 60 s.
    """
    write_routes(RouteTable(active=route, previous=None, updated_at=time.time()), directory)
    port = free_port()
    return port, start_gateway(port=port, directory=directory, timeout=60)


def post_row(port: int, timeout: float = 10) -> int:
    """POST :func:`one_row` to the gateway's ``/invocations``; the HTTP status.

    Raises:
        OSError: When no connection could be made or it broke (the gateway is down).
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(
            "POST", "/invocations", body=one_row(), headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@contextmanager
def fake_deployment(
    patch: pytest.MonkeyPatch, directory: Path, model_name: str, deployment_id: str
) -> Iterator[tuple[int, int]]:
    """A gateway in ``directory`` routing ``model_name`` to a :class:`FakeModelServer`.

    Yields:
        (gateway port, gateway PID). On exit the gateway (with its supervisor) and the model
        server are stopped.
    """
    direct_connections(patch)
    server = start_model_server()
    try:
        yield gateway_for(route_to(server, model_name, deployment_id), directory)
    finally:
        stop_gateway(directory)
        server.shutdown()
        server.server_close()
