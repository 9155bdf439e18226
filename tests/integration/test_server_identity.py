"""Who answers on a model server's port: real processes, a decoy, and the gateway in front.

The decoy answers ``/ping`` and ``/invocations`` exactly as the real server does (same
probabilities, same version); only the process tells them apart.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from zenml.utils.networking_utils import port_available

from scripts.ports import free_port as os_port
from serving.identity import (
    UnidentifiedServer,
    check_listener,
    free_port,
    identify_listener,
    listening_pids,
    process_of,
)
from serving.routing import Route, RouteTable, start_gateway, stop_gateway, write_routes
from tabular_classifier.contract import RowContract

SERVER = Path(__file__).with_name("model_server_process.py")


def _get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    """Wait until ``process`` (or its child) listens on ``port`` and the port answers."""
    import psutil

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, f"server on port {port} exited with {process.returncode}"
        ours = {process.pid} | {c.pid for c in psutil.Process(process.pid).children(True)}
        if ours & set(listening_pids(port)) and _get(port, "/ping")[0] == 200:
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing answered on port {port}")


class Servers:
    """Starts model server processes and kills them all at the end."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(
        self, port: int, reuse_port: bool = False, via_shell: bool = False
    ) -> subprocess.Popen[bytes]:
        """Start a server on ``port``; ``via_shell`` puts a parent process above it, as
        ZenML's daemon is above the uvicorn it starts."""
        command = [sys.executable, str(SERVER), "--port", str(port)]
        if reuse_port:
            command.append("--reuse-port")
        if via_shell:
            # No exec: bash stays the parent, like a daemon above its server.
            command = ["bash", "-c", " ".join(command) + "; true"]
        process = subprocess.Popen(command, start_new_session=True)
        self.processes.append(process)
        _wait_listening(port, process)
        return process

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                self.stop(process)


@pytest.fixture
def servers() -> Iterator[Servers]:
    started = Servers()
    yield started
    started.close()


def _listener_pid(daemon: subprocess.Popen[bytes]) -> int:
    import psutil

    children = psutil.Process(daemon.pid).children(recursive=True)
    assert len(children) == 1
    return int(children[0].pid)


def test_the_daemons_own_server_is_identified(servers: Servers) -> None:
    port = os_port()
    daemon = servers.start(port, via_shell=True)
    server = identify_listener(port, daemon.pid)
    assert server.pid == _listener_pid(daemon) != daemon.pid
    assert check_listener(port, server) is None


def test_a_decoy_on_the_port_is_refused_by_name(servers: Servers) -> None:
    """The pitfall: ZenML's probe calls a port free that a SO_REUSEPORT decoy listens on."""
    port = free_port(os_port())
    decoy = servers.start(port, reuse_port=True)
    assert port_available(port)  # ZenML would hand this port to the next model server
    assert free_port(port) != port  # ours does not
    daemon = servers.start(free_port(port + 1), via_shell=True)  # a real server, elsewhere
    with pytest.raises(UnidentifiedServer) as caught:
        identify_listener(port, daemon.pid)
    message = str(caught.value)
    assert f"port {port} is answered by PID {decoy.pid}" in message
    assert "model_server_process.py" in message and f"daemon PID {daemon.pid}" in message


def test_a_second_listener_or_a_dead_server_fails_the_check(servers: Servers) -> None:
    port = os_port()
    real = servers.start(port, reuse_port=True)
    server = process_of(real.pid)
    assert check_listener(port, server) is None
    decoy = servers.start(port, reuse_port=True)
    assert check_listener(port, server) == (
        f"port {port} is also answered by PID {decoy.pid} "
        f"({sys.executable} {SERVER} --port {port} --reuse-port), not the model server"
    )
    servers.stop(real)
    assert check_listener(port, server) == f"model server process {real.pid} is no longer running"
    assert check_listener(port, process_of(os.getpid()).__class__(0, 0.0)) == (
        "the route records no model server process; redeploy this version"
    )


def _route(port: int, pid: int) -> Route:
    server = process_of(pid)
    contract = RowContract.infer(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), ["x"], [])
    return Route(
        model_name="identity_model",
        model_version="1",
        registered_version="1",
        service_id="00000000-0000-0000-0000-000000000001",
        url=f"http://127.0.0.1:{port}/invocations",
        health_url=f"http://127.0.0.1:{port}/ping",
        contract=contract.to_dict(),
        deployment_id="d" * 32,
        server_pid=server.pid,
        server_started_at=server.started_at,
    )


def _invoke(port: int) -> tuple[int, dict[str, str], dict[str, object]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        body = json.dumps({"dataframe_split": {"columns": ["x"], "data": [[1.5]]}})
        connection.request("POST", "/invocations", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, json.loads(response.read())
    finally:
        connection.close()


def test_the_gateway_never_routes_to_a_process_it_cannot_identify(
    servers: Servers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    port = os_port()
    real = servers.start(port)
    write_routes(RouteTable(active=_route(port, real.pid), previous=None, updated_at=1.0), tmp_path)
    gateway_port = os_port()
    start_gateway(port=gateway_port, directory=tmp_path, timeout=60)
    try:
        status, _, body = _invoke(gateway_port)
        assert status == 200 and body["model_version"] == "1"
        assert json.loads(_get(port, "/count")[1]) == {"invocations": 1, "marked": 0}
        # The real server dies and a decoy takes its port at once.
        servers.stop(real)
        decoy = servers.start(port)
        for _ in range(20):
            status, headers, body = _invoke(gateway_port)
            assert status == 503, body
            assert body["error_code"] == "MODEL_SERVER_UNIDENTIFIED"
            assert f"model server process {real.pid} is no longer running" in str(body["message"])
            assert headers["retry-after"] == "2"
        health_status, health = _get(gateway_port, "/health")
        assert health_status == 503
        assert json.loads(health)["status"].startswith("model server unidentified")
        assert json.loads(_get(port, "/count")[1]) == {"invocations": 0, "marked": 0}
        # A route naming the decoy's process by PID but another start time is refused too.
        stale = _route(port, decoy.pid)
        write_routes(
            RouteTable(
                active=Route(
                    **{**stale.__dict__, "server_started_at": stale.server_started_at - 60}
                ),
                previous=None,
                updated_at=2.0,
            ),
            tmp_path,
        )
        time.sleep(0.05)
        assert _invoke(gateway_port)[0] == 503
        assert json.loads(_get(port, "/count")[1]) == {"invocations": 0, "marked": 0}
    finally:
        stop_gateway(tmp_path)
