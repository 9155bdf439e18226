"""Deployments are compared on (model name, version, deployment id), never the version alone."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from release.blue_green import already_serving
from serving.identity import process_of
from serving.routing import ROUTE_FILE, Route, RouteTable, read_routes, write_routes


@pytest.fixture
def health_url() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 whose ``/ping`` answers 200."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self.send_response(200 if self.path == "/ping" else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/ping"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def _route(
    model: str, version: str, health: str, deployment_id: str = "d" * 32, pid: int = 0
) -> Route:
    """A route to ``health``'s server, which runs in this process unless ``pid`` says otherwise."""
    server = process_of(pid or os.getpid())
    return Route(
        model_name=model,
        model_version=version,
        registered_version=version,
        service_id="00000000-0000-0000-0000-000000000001",
        url=health.replace("/ping", "/invocations"),
        health_url=health,
        contract={"features": []},
        deployment_id=deployment_id,
        server_pid=server.pid,
        server_started_at=server.started_at,
    )


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/ping"


def test_same_version_number_of_another_model_is_not_already_served(health_url: str) -> None:
    active = _route("breast_cancer_classifier", "1", health_url)
    assert not already_serving(active, "card_classifier", "1", "1")
    assert already_serving(active, "breast_cancer_classifier", "1", "1")


def test_every_part_of_the_identity_counts(health_url: str) -> None:
    active = _route("breast_cancer_classifier", "1", health_url)
    assert not already_serving(active, "breast_cancer_classifier", "2", "1")
    # Same ZenML number, other registry version: another model behind the same number.
    assert not already_serving(active, "breast_cancer_classifier", "1", "7")
    # A route written before deployments had ids cannot be identified: deploy again.
    unidentified = _route("breast_cancer_classifier", "1", health_url, deployment_id="")
    assert not already_serving(unidentified, "breast_cancer_classifier", "1", "1")
    assert not already_serving(None, "breast_cancer_classifier", "1", "1")


def test_unhealthy_active_server_is_not_already_served() -> None:
    active = _route("breast_cancer_classifier", "1", _closed_port_url())
    assert not already_serving(active, "breast_cancer_classifier", "1", "1")


def test_active_server_answered_by_another_process_is_not_already_served(
    health_url: str,
) -> None:
    # The route records another process than the one listening on its port (this one).
    active = _route("breast_cancer_classifier", "1", health_url, pid=os.getppid())
    assert not already_serving(active, "breast_cancer_classifier", "1", "1")


def test_identity_is_name_version_and_deployment(health_url: str) -> None:
    a = _route("breast_cancer_classifier", "1", health_url, deployment_id="a" * 32)
    b = _route("card_classifier", "1", health_url, deployment_id="a" * 32)
    c = _route("breast_cancer_classifier", "1", health_url, deployment_id="c" * 32)
    assert a.identity == ("breast_cancer_classifier", "1", "a" * 32)
    assert len({a.identity, b.identity, c.identity}) == 3


def test_route_json_round_trips_and_old_files_still_read(tmp_path: Path, health_url: str) -> None:
    table = RouteTable(
        active=_route("card_classifier", "1", health_url),
        previous=_route("breast_cancer_classifier", "1", health_url, deployment_id="e" * 32),
        updated_at=12.5,
    )
    write_routes(table, tmp_path)
    assert read_routes(tmp_path) == table
    # A route.json from before deployment ids and history.
    old = table.to_dict()
    for key in ("active", "previous"):
        del old[key]["deployment_id"]
    del old["history"]
    (tmp_path / ROUTE_FILE).write_text(json.dumps(old))
    read = read_routes(tmp_path)
    assert read.active is not None and read.active.deployment_id == ""
    assert read.active.model_name == "card_classifier"
    assert read.history == ()


def test_status_does_not_call_a_server_unhealthy_for_one_slow_answer() -> None:
    """``release status``'s health check: a server whose first /ping takes 3 s (past the 2 s
    timeout; seen in CI while other servers stopped) is healthy on the retry; a closed port,
    or a single attempt, is not."""
    from release.__main__ import _healthy

    pings: list[float] = []

    class SlowOnce(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            pings.append(1.0)
            if len(pings) == 1:
                threading.Event().wait(3.0)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowOnce)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        route = _route("m", "1", f"http://127.0.0.1:{server.server_address[1]}/ping")
        assert _healthy(route, attempts=1) is False  # the slow first answer
        pings.clear()
        assert _healthy(route) is True
        assert len(pings) == 2
    finally:
        server.shutdown()
        server.server_close()
    assert _healthy(_route("m", "1", _closed_port_url())) is False
